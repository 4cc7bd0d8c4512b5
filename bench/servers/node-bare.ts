// node:http with no session: the baseline of the node:http rows.
import { createServer } from 'node:http'
import { port, ready } from './common.js'

const server = createServer((_req, res) => {
  res.setHeader('content-type', 'text/plain')
  res.end('ok')
})
server.listen(port(), '127.0.0.1', () => ready(server.address()))
