// Express with cookie-session (signed cookie, keygrip HMAC-SHA1).
import express from 'express'
import cookieSession from 'cookie-session'
import { nextValue, port, readAnswer, ready, SECRET, SEED_USER, type SeedUser } from './common.js'

const app = express()
app.use(cookieSession({ name: 'session', keys: [SECRET] }))
// cookie-session puts a plain object on req.session (typed by express-session elsewhere).
const data = (req: express.Request): { user?: SeedUser; n?: number } =>
  (req as unknown as { session: { user?: SeedUser; n?: number } }).session
app.get('/read', (req, res) => {
  res.type('text/plain').send(readAnswer(data(req).user))
})
app.get('/write', (req, res) => {
  data(req).n = nextValue()
  res.type('text/plain').send(readAnswer(data(req).user))
})
app.get('/seed', (req, res) => {
  data(req).user = SEED_USER
  data(req).n = nextValue()
  res.type('text/plain').send('ok')
})
const server = app.listen(port(), '127.0.0.1', () => ready(server.address()))
