import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { createSignedCookieFactory } from 'cloakroom'
import { session } from 'cloakroom/fastify'

const secret = process.env.SESSION_SECRET ?? randomBytes(32).toString('base64url')
const factory = createSignedCookieFactory({ secrets: secret })

const app = Fastify()
await app.register(session, { factory })
app.get('/', (request, reply) => {
  const visits = Number(request.session.get('visits') ?? 0) + 1
  request.session.set('visits', visits)
  return reply.send(`Visit number ${visits}`)
})

await app.listen({ port: Number(process.env.PORT ?? 3000) })
console.log(`Fastify on http://localhost:${(app.server.address() as AddressInfo).port}/`)
