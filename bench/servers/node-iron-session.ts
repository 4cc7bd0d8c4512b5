// node:http with iron-session (sealed cookie, iron-webcrypto).
import { createServer } from 'node:http'
import { getIronSession } from 'iron-session'
import { nextValue, port, readAnswer, ready, SECRET, SEED_USER, type SeedUser } from './common.js'

interface Data {
  user?: SeedUser
  n?: number
}
const options = { password: SECRET, cookieName: 'session', cookieOptions: { secure: false } }

const server = createServer((req, res) => {
  getIronSession<Data>(req, res, options).then(
    async (session) => {
      res.setHeader('content-type', 'text/plain')
      if (req.url === '/read') return void res.end(readAnswer(session.user))
      if (req.url === '/seed') session.user = SEED_USER
      if (req.url === '/seed' || req.url === '/write') session.n = nextValue()
      await session.save()
      res.end(req.url === '/write' ? readAnswer(session.user) : 'ok')
    },
    () => {
      res.statusCode = 500
      res.end()
    },
  )
})
server.listen(port(), '127.0.0.1', () => ready(server.address()))
