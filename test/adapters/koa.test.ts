import { createRequire } from 'node:module'
import { Readable } from 'node:stream'
import Koa from 'koa'
import { csrf, session } from 'cloakroom/koa'
import type { MakeAdapterApp } from 'cloakroom/testing'
import { listenHarness, runAdapterSuite } from 'cloakroom/testing'
import { formFields, suiteFactories, suiteSession } from './harness.js'

// `koa2` is an npm alias of koa@2, which has no types of its own: it has the same API.
const Koa2 = createRequire(import.meta.url)('koa2') as typeof Koa

function makeApp(Framework: typeof Koa): MakeAdapterApp {
  return (factory, routes, forms) => {
    const app = new Framework()
    app.silent = true
    app.proxy = true // X-Forwarded-Proto sets ctx.protocol (and ctx.origin)
    app.use(session(factory))
    // Koa has no router: csrf() runs for every request and lets the safe (GET) ones through.
    app.use(csrf())
    app.use(async (ctx) => {
      const form = ctx.method === 'POST' ? forms[ctx.path] : undefined
      const route = ctx.method === 'POST' ? undefined : routes[ctx.path]
      if (route === undefined && form === undefined) return
      const reply =
        form !== undefined
          ? // No body parser is mounted: csrf() read the form into ctx.request.body.
            await form(
              suiteSession(ctx.session),
              formFields((ctx.request as { body?: unknown }).body),
            )
          : await route!(suiteSession(ctx.session))
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
