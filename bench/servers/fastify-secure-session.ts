// Fastify with @fastify/secure-session (libsodium secretbox cookie).
import Fastify, { type FastifyRequest } from 'fastify'
import secureSession from '@fastify/secure-session'
import { nextValue, port, readAnswer, ready, SECRET, SEED_USER, type SeedUser } from './common.js'

// Cloakroom's Fastify adapter types request.session too, so this server uses it untyped.
interface PeerSession {
  get(key: string): unknown
  set(key: string, value: unknown): void
}
const data = (request: FastifyRequest): PeerSession => request.session

const app = Fastify({ logger: false })
await app.register(secureSession, {
  key: Buffer.from(SECRET).subarray(0, 32),
  cookie: { path: '/', httpOnly: true },
})
app.get('/read', (request, reply) => {
  void reply.type('text/plain').send(readAnswer(data(request).get('user') as SeedUser | undefined))
})
app.get('/write', (request, reply) => {
  data(request).set('n', nextValue())
  void reply.type('text/plain').send(readAnswer(data(request).get('user') as SeedUser | undefined))
})
app.get('/seed', (request, reply) => {
  data(request).set('user', SEED_USER)
  data(request).set('n', nextValue())
  void reply.type('text/plain').send('ok')
})
ready(await app.listen({ port: port(), host: '127.0.0.1' }).then(() => app.server.address()))
