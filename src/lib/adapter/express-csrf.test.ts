import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import express, { type ErrorRequestHandler, type Express } from 'express'
import { CsrfError } from '../errors.js'
import { createSignedCookieFactory } from '../factory/signed-cookie-factory.js'
import { listenHarness, type AdapterSuiteHarness } from '../testing/adapter-suite.js'
import { csrf } from './express-csrf.js'
import { session } from './express.js'

// `express4` is an npm alias of express@4, which has no types of its own: it has the same API.
const express4 = createRequire(import.meta.url)('express4') as typeof express

function appOf(framework: typeof express): Express {
  const app = framework()
  app.set('env', 'test')
  app.use(session(createSignedCookieFactory({ secrets: 'k'.repeat(43) })))
  app.get('/token', (req, res) => {
    res.send(req.session.getCsrfToken())
  })
  return app
}

async function run(
  app: Express,
  test: (harness: AdapterSuiteHarness, cookie: string, token: string) => Promise<void>,
): Promise<void> {
  const harness = await listenHarness(app)
  try {
    const response = await harness.fetch('/token')
    const [setCookie] = response.headers.getSetCookie()
    await test(harness, setCookie!.slice(0, setCookie!.indexOf(';')), await response.text())
  } finally {
    await harness.close()
  }
}

const form = (cookie: string, body: string, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body,
})

describe('csrf (cloakroom/express)', () => {
  it('passes a refusal to next(error) as a CsrfError with statusCode 403', async () => {
    const app = appOf(express)
    const seen: unknown[] = []
    app.post('/save', csrf(), (_req, res) => {
      res.send('saved')
    })
    const handler: ErrorRequestHandler = (error, _req, res, next) => {
      seen.push(error)
      if (error instanceof CsrfError) res.status(403).send('custom refusal')
      else next(error)
    }
    app.use(handler)
    await run(app, async (harness, cookie) => {
      const response = await harness.fetch('/save', form(cookie, 'name=x'))
      assert.equal(response.status, 403)
      assert.equal(await response.text(), 'custom refusal')
      const [error] = seen
      assert.ok(error instanceof CsrfError)
      assert.equal(error.code, 'ERR_CSRF_REJECTED')
      assert.equal(error.statusCode, 403)
      assert.equal(error.reason, 'missing-token')
    })
  })

  it('reads the form itself and a body parser mounted after it skips it (Express 4 and 5)', async () => {
    for (const [name, framework] of [
      ['Express 5', express],
      ['Express 4', express4],
    ] as const) {
      const app = appOf(framework)
      app.use(csrf())
      app.use(framework.urlencoded({ extended: false }))
      app.post('/save', (req, res) => {
        res.json(req.body)
      })
      await run(app, async (harness, cookie, token) => {
        const byField = await harness.fetch('/save', form(cookie, `a=1&a=2&csrf_token=${token}`))
        assert.equal(byField.status, 200, name)
        assert.deepEqual(await byField.json(), { a: ['1', '2'], csrf_token: token }, name)
        const byHeader = await harness.fetch(
          '/save',
          form(cookie, 'b=2', { 'x-csrf-token': token }),
        )
        assert.equal(byHeader.status, 200, name)
        assert.deepEqual(await byHeader.json(), { b: '2' }, name)
      })
    }
  })

  it('reads the token from req.body when a parser ran before it, whatever its content type', async () => {
    const app = appOf(express)
    app.use(express.json())
    app.post('/save', csrf(), (req, res) => {
      res.json(req.body)
    })
    await run(app, async (harness, cookie, token) => {
      const response = await harness.fetch('/save', {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify({ csrf_token: token, n: 1 }),
      })
      assert.equal(response.status, 200)
      assert.deepEqual(await response.json(), { csrf_token: token, n: 1 })
    })
  })

  it('takes the origin from X-Forwarded-Host and -Proto only with trust proxy', async () => {
    for (const trust of [true, false]) {
      const app = appOf(express)
      app.set('trust proxy', trust)
      app.post('/save', csrf(), (_req, res) => {
        res.send('saved')
      })
      await run(app, async (harness, cookie, token) => {
        const response = await harness.fetch('/save', {
          method: 'POST',
          headers: {
            cookie,
            'x-csrf-token': token,
            'x-forwarded-proto': 'https',
            'x-forwarded-host': 'app.example:8443',
            origin: 'https://app.example:8443',
          },
        })
        // Without trust proxy the request is plain HTTP, whose origin is not checked.
        assert.equal(response.status, 200, `trust proxy ${String(trust)}`)
        const foreign = await harness.fetch('/save', {
          method: 'POST',
          headers: {
            cookie,
            'x-csrf-token': token,
            'x-forwarded-proto': 'https',
            'x-forwarded-host': 'app.example:8443',
            origin: 'https://app.example',
          },
        })
        assert.equal(foreign.status, trust ? 403 : 200, `other port, trust proxy ${String(trust)}`)
      })
    }
  })
})
