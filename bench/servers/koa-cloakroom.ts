// Koa with Cloakroom's Koa middleware; the factory comes from CLOAKROOM.
import Koa from 'koa'
import { session } from '../../src/koa.js'
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

const app = new Koa()
app.use(session(await createBenchFactory(factoryKind())))
app.use((ctx) => {
  ctx.type = 'text/plain'
  if (ctx.path === '/seed') ctx.session.set('user', SEED_USER)
  if (ctx.path === '/seed' || ctx.path === '/write') ctx.session.set('n', nextValue())
  if (ctx.path === '/read' || ctx.path === '/write')
    return void (ctx.body = readAnswer(ctx.session.get('user') as SeedUser | undefined))
  ctx.body = 'ok'
})
const server = app.listen(port(), '127.0.0.1', () => ready(server.address()))
