import { createRequire } from 'node:module'
import { Readable } from 'node:stream'
import express, { type Response as ExpressResponse } from 'express'
import type { AdapterSuiteReply, MakeAdapterApp } from 'cloakroom/testing'
import { listenHarness, runAdapterSuite } from 'cloakroom/testing'
import { session, sessionErrorHandler } from 'cloakroom/express'
import { quiet, suiteFactories, suiteSession } from './harness.js'

// `express4` is an npm alias of express@4, which has no types of its own: it has the same API.
const express4 = createRequire(import.meta.url)('express4') as typeof express

function send(res: ExpressResponse, reply: AdapterSuiteReply): void {
  if (reply.redirect !== undefined) {
    res.redirect(302, reply.redirect)
    return
  }
  res.status(reply.status ?? 200)
  res.set(reply.headers ?? {})
  if (reply.headers?.['content-type'] === undefined) res.type('text/plain')
  if (reply.stream !== undefined) Readable.from(reply.stream()).pipe(res)
  else res.send(reply.body ?? '')
}

function makeApp(framework: typeof express): MakeAdapterApp {
  return (factory, routes) => {
    const app = framework()
    app.set('env', 'test')
    app.use(session(factory, { onError: quiet() }))
    for (const [path, route] of Object.entries(routes)) {
      // Express 4 does not catch rejected promises: pass them to next() in both versions.
      app.get(path, (req, res, next) => {
        Promise.resolve()
          .then(() => route(suiteSession(req.session)))
          .then((reply) => send(res, reply), next)
      })
    }
    app.use(sessionErrorHandler())
    return listenHarness(app)
  }
}

runAdapterSuite('express 5', makeApp(express), { factories: suiteFactories })
runAdapterSuite('express 4', makeApp(express4), { factories: suiteFactories })
