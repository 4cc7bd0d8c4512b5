// Koa with koa-session (signed cookie holding base64 JSON).
import Koa from 'koa'
import session from 'koa-session'
import { nextValue, port, readAnswer, ready, SECRET, SEED_USER, type SeedUser } from './common.js'

const app = new Koa()
app.keys = [SECRET]
app.use(session({ key: 'session', signed: true, secure: false }, app))
app.use((ctx) => {
  const data = ctx.session as unknown as { user?: SeedUser; n?: number }
  ctx.type = 'text/plain'
  if (ctx.path === '/seed') data.user = SEED_USER
  if (ctx.path === '/seed' || ctx.path === '/write') data.n = nextValue()
  if (ctx.path === '/read' || ctx.path === '/write') return void (ctx.body = readAnswer(data.user))
  ctx.body = 'ok'
})
const server = app.listen(port(), '127.0.0.1', () => ready(server.address()))
