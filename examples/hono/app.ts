import { randomBytes } from 'node:crypto'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createSignedCookieFactory } from 'cloakroom'
import { session } from 'cloakroom/hono'

const secret = process.env.SESSION_SECRET ?? randomBytes(32).toString('base64url')
const factory = createSignedCookieFactory({ secrets: secret })

const app = new Hono()
app.use(session(factory))
app.get('/', (c) => {
  const visits = Number(c.get('session').get('visits') ?? 0) + 1
  c.get('session').set('visits', visits)
  return c.text(`Visit number ${visits}`)
})

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) }, ({ port }) =>
  console.log(`Hono on http://localhost:${port}/`),
)
