import { createRequire } from 'node:module'
import { Readable } from 'node:stream'
import express, { type Response as ExpressResponse } from 'express'
import type { AdapterSuiteReply, MakeAdapterApp } from 'cloakroom/testing'
import { listenHarness, runAdapterSuite } from 'cloakroom/testing'
import { csrf, session, sessionErrorHandler } from 'cloakroom/express'
import { formFields, quiet, suiteFactories, suiteSession } from './harness.js'

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

/**
 * @param framework Express 4 or 5
 * @param bodyParser mount `express.urlencoded()` before `csrf()`; without it, `csrf()` reads the
 * form and sets `req.body` itself
 */
function makeApp(framework: typeof express, bodyParser: boolean): MakeAdapterApp {
  return (factory, routes, forms) => {
    const app = framework()
    app.set('env', 'test')
    app.set('trust proxy', 'loopback') // X-Forwarded-Proto from 127.0.0.1 sets req.protocol
    app.use(session(factory, { onError: quiet() }))
    for (const [path, route] of Object.entries(routes)) {
      // Express 4 does not catch rejected promises: pass them to next() in both versions.
      app.get(path, (req, res, next) => {
        Promise.resolve()
          .then(() => route(suiteSession(req.session)))
          .then((reply) => send(res, reply))
          .catch(next)
      })
    }
    const parsers = bodyParser ? [framework.urlencoded({ extended: false })] : []
    for (const [path, route] of Object.entries(forms)) {
      app.post(path, ...parsers, csrf(), (req, res, next) => {
        Promise.resolve()
          .then(() => route(suiteSession(req.session), formFields(req.body)))
          .then((reply) => send(res, reply))
          .catch(next)
      })
    }
    app.use(sessionErrorHandler())
    return listenHarness(app)
  }
}

runAdapterSuite('express 5', makeApp(express, false), { factories: suiteFactories })
runAdapterSuite('express 4 (express.urlencoded)', makeApp(express4, true), {
  factories: suiteFactories,
})
