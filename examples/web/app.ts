import { randomBytes } from 'node:crypto'
import { serve } from '@hono/node-server'
import { createSignedCookieFactory } from 'cloakroom'
import { withSession } from 'cloakroom/web'

const secret = process.env.SESSION_SECRET ?? randomBytes(32).toString('base64url')
const factory = createSignedCookieFactory<{ visits: number }>({ secrets: secret })

// A Web-standard handler: runs as is on Bun, Deno and Workers; on Node through any fetch bridge.
const handle = withSession(factory, (_request, session) => {
  const visits = (session.get('visits') ?? 0) + 1
  session.set('visits', visits)
  return new Response(`Visit number ${visits}`)
})

serve({ fetch: handle, port: Number(process.env.PORT ?? 3000) }, ({ port }) =>
  console.log(`Web handler on http://localhost:${port}/`),
)
