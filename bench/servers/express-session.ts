// Express with express-session: EXPRESS_SESSION_STORE=memory (MemoryStore) or redis (connect-redis).
import express from 'express'
import session from 'express-session'
import {
  nextValue,
  port,
  readAnswer,
  ready,
  SECRET,
  SEED_USER,
  skip,
  type SeedUser,
} from './common.js'

// Cloakroom's Express adapter types req.session too, so this server reads it untyped.
const data = (req: express.Request): { user?: SeedUser; n?: number } =>
  req.session as unknown as { user?: SeedUser; n?: number }

async function createStore(): Promise<session.Store | undefined> {
  if (process.env.EXPRESS_SESSION_STORE !== 'redis') return undefined
  const { createClient } = await import('redis')
  const { RedisStore } = await import('connect-redis')
  const client = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    return skip(`Redis unreachable: ${String(error)}`)
  }
  return new RedisStore({ client, prefix: `bench-express-session-${process.pid}:` })
}

const store = await createStore()
const app = express()
app.use(
  session({
    secret: SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { secure: false },
    ...(store === undefined ? {} : { store }),
  }),
)
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
