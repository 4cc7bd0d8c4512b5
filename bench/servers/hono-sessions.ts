// Hono with hono-sessions (CookieStore, iron-webcrypto).
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { CookieStore, sessionMiddleware, type Session } from 'hono-sessions'
import { nextValue, port, readAnswer, ready, SECRET, SEED_USER, type SeedUser } from './common.js'

interface Data {
  user: SeedUser
  n: number
}

const app = new Hono<{ Variables: { session: Session<Data>; session_key_rotation: boolean } }>()
app.use(
  '*',
  sessionMiddleware({
    store: new CookieStore(),
    encryptionKey: SECRET,
    expireAfterSeconds: 1200,
    cookieOptions: { path: '/', httpOnly: true, sameSite: 'Lax' },
  }),
)
app.get('/read', (c) => c.text(readAnswer(c.get('session').get('user') ?? undefined)))
app.get('/write', (c) => {
  c.get('session').set('n', nextValue())
  return c.text(readAnswer(c.get('session').get('user') ?? undefined))
})
app.get('/seed', (c) => {
  c.get('session').set('user', SEED_USER)
  c.get('session').set('n', nextValue())
  return c.text('ok')
})
serve({ fetch: app.fetch, port: port(), hostname: '127.0.0.1' }, (info) => ready(info.port))
