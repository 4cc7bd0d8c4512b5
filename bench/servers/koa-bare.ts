// Koa with no session: the baseline of the Koa rows.
import Koa from 'koa'
import { port, ready } from './common.js'

const app = new Koa()
app.use((ctx) => {
  ctx.type = 'text/plain'
  ctx.body = 'ok'
})
const server = app.listen(port(), '127.0.0.1', () => ready(server.address()))
