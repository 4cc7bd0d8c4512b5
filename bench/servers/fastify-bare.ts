// Fastify with no session: the baseline of the Fastify rows.
import Fastify from 'fastify'
import { port, ready } from './common.js'

const app = Fastify({ logger: false })
app.get('/*', (_request, reply) => {
  void reply.type('text/plain').send('ok')
})
ready(await app.listen({ port: port(), host: '127.0.0.1' }).then(() => app.server.address()))
