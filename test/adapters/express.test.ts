import { createRequire } from 'node:module'
import { Readable } from 'node:stream'
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createSignedCookieFactory } from 'cloakroom'
import express, { type ErrorRequestHandler, type Response as ExpressResponse } from 'express'
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

describe('express: setOnException without sessionErrorHandler()', () => {
  it('counts an error answered 500 by an error handler of the app as an exception', async () => {
    const factory = createSignedCookieFactory({
      secrets: 'k'.repeat(43),
      setOnException: false,
    })
    for (const framework of [express, express4]) {
      const app = framework()
      app.use(session(factory, { onError: quiet() }))
      app.get('/throw', (req) => {
        req.session.set('n', 1)
        throw new Error('boom')
      })
      app.get('/throw-raw', (req) => {
        req.session.set('n', 1)
        throw new TypeError('boom')
      })
      app.get('/throw-string-status', (req) => {
        req.session.set('n', 1)
        throw new RangeError('boom')
      })
      app.get('/ok', (req, res) => {
        req.session.set('n', 1)
        res.send('ok')
      })
      const errorPage: ErrorRequestHandler = (error, _req, res, next) => {
        if (!(error instanceof Error)) return next(error)
        // An error page written with node's own writeHead: its status is set by that very call.
        if (error instanceof TypeError) return void res.writeHead(500).end('sorry')
        // node:http takes a numeric string too.
        if (error instanceof RangeError) {
          return void res.writeHead('500' as unknown as number).end('sorry')
        }
        res.status(500).send('sorry')
      }
      app.use(errorPage)
      const harness = await listenHarness(app)
      try {
        const failed = await harness.fetch('/throw')
        assert.equal(failed.status, 500)
        assert.deepEqual(failed.headers.getSetCookie(), [], 'not saved: setOnException is false')
        const raw = await harness.fetch('/throw-raw')
        assert.equal(raw.status, 500)
        assert.deepEqual(raw.headers.getSetCookie(), [], 'writeHead(500) counts too')
        const stringStatus = await harness.fetch('/throw-string-status')
        assert.equal(stringStatus.status, 500)
        assert.deepEqual(stringStatus.headers.getSetCookie(), [], "writeHead('500') counts too")
        const ok = await harness.fetch('/ok')
        assert.equal(ok.headers.getSetCookie().length, 1)
      } finally {
        await harness.close()
      }
    }
  })
})
