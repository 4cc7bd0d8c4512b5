// Fastify with Cloakroom's Fastify plugin; the factory comes from CLOAKROOM.
import Fastify from 'fastify'
import type { SessionFactory } from '../../src/index.js'
import { session } from '../../src/fastify.js'
import { createBenchFactory } from './cloakroom-factory.js'
import {
  factoryKind,
  nextValue,
  port,
  readAnswer,
  ready,
  SEED_USER,
  type SeedUser,
} from './common.js'

const app = Fastify({ logger: false })
// The plugin's options accept only SessionFactory<DefaultSessionData>, not a factory typed with
// its own data (reported), so the factory is widened here.
const factory = (await createBenchFactory(factoryKind())) as unknown as SessionFactory
await app.register(session, { factory })
app.get('/read', (request, reply) => {
  void reply
    .type('text/plain')
    .send(readAnswer(request.session.get('user') as SeedUser | undefined))
})
app.get('/write', (request, reply) => {
  request.session.set('n', nextValue())
  void reply
    .type('text/plain')
    .send(readAnswer(request.session.get('user') as SeedUser | undefined))
})
app.get('/seed', (request, reply) => {
  request.session.set('user', SEED_USER)
  request.session.set('n', nextValue())
  void reply.type('text/plain').send('ok')
})
ready(await app.listen({ port: port(), host: '127.0.0.1' }).then(() => app.server.address()))
