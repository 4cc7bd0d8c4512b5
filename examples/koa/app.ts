import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import { createSignedCookieFactory } from 'cloakroom'
import { session } from 'cloakroom/koa'

const secret = process.env.SESSION_SECRET ?? randomBytes(32).toString('base64url')
const factory = createSignedCookieFactory({ secrets: secret })

const app = new Koa()
app.use(session(factory))
app.use((ctx) => {
  const visits = Number(ctx.session.get('visits') ?? 0) + 1
  ctx.session.set('visits', visits)
  ctx.body = `Visit number ${visits}`
})

const server = app.listen(Number(process.env.PORT ?? 3000), () =>
  console.log(`Koa on http://localhost:${(server.address() as AddressInfo).port}/`),
)
