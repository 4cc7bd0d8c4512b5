// node:http with Cloakroom's node adapter; the factory comes from CLOAKROOM.
import { createServer } from 'node:http'
import { withSession } from '../../src/node.js'
import { createBenchFactory } from './cloakroom-factory.js'
import { factoryKind, nextValue, port, readAnswer, ready, SEED_USER } from './common.js'

const factory = await createBenchFactory(factoryKind())
const listener = withSession(factory, (req, res) => {
  res.setHeader('content-type', 'text/plain')
  if (req.url === '/untouched') return void res.end('ok')
  if (req.url === '/seed') req.session.set('user', SEED_USER)
  if (req.url === '/seed' || req.url === '/write') req.session.set('n', nextValue())
  if (req.url === '/read' || req.url === '/write')
    return void res.end(readAnswer(req.session.get('user')))
  res.end('ok')
})
// withSession's listener returns a promise that never rejects; node:http ignores it.
const server = createServer((req, res) => void listener(req, res))
server.listen(port(), '127.0.0.1', () => ready(server.address()))
