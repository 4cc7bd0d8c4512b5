import { createRequire } from 'node:module'
import { Readable } from 'node:stream'
import Koa from 'koa'
import { session } from 'cloakroom/koa'
import type { MakeAdapterApp } from 'cloakroom/testing'
import { listenHarness, runAdapterSuite } from 'cloakroom/testing'
import { suiteFactories, suiteSession } from './harness.js'

// `koa2` is an npm alias of koa@2, which has no types of its own: it has the same API.
const Koa2 = createRequire(import.meta.url)('koa2') as typeof Koa

function makeApp(Framework: typeof Koa): MakeAdapterApp {
  return (factory, routes) => {
    const app = new Framework()
    app.silent = true
    app.use(session(factory))
    app.use(async (ctx) => {
      const route = routes[ctx.path]
      if (route === undefined) return
      const reply = await route(suiteSession(ctx.session))
      if (reply.redirect !== undefined) {
        ctx.redirect(reply.redirect)
        return
      }
      ctx.status = reply.status ?? 200
      ctx.set(reply.headers ?? {})
      if (reply.headers?.['content-type'] === undefined) ctx.type = 'text/plain'
      ctx.body = reply.stream === undefined ? (reply.body ?? '') : Readable.from(reply.stream())
    })
    return listenHarness(app.callback())
  }
}

runAdapterSuite('koa 3', makeApp(Koa), { factories: suiteFactories })
runAdapterSuite('koa 2', makeApp(Koa2), { factories: suiteFactories })
