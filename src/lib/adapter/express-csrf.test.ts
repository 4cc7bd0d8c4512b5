import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import express, { type ErrorRequestHandler, type Express } from 'express'
import { CsrfError, FormTooLargeError } from '../errors.js'
import { createSignedCookieFactory } from '../factory/signed-cookie-factory.js'
import { listenHarness, type AdapterSuiteHarness } from '../testing/adapter-suite.js'
import { assertOversizedFormRefusedEarly } from '../../../test/helpers/http.js'
import { csrf } from './express-csrf.js'
import { session } from './express.js'

// `express4` is an npm alias of express@4, which has no types of its own: it has the same API.
const express4 = createRequire(import.meta.url)('express4') as typeof express
const EXPRESS_VERSIONS = [
  ['Express 5', express],
  ['Express 4', express4],
] as const

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

  it('never takes the token from a JSON body, as no adapter does: a fetch() sends the header', async () => {
    const app = appOf(express)
    app.post('/save', express.json(), csrf(), (_req, res) => {
      res.send('saved')
    })
    await run(app, async (harness, cookie, token) => {
      const json = (headers: Record<string, string> = {}): RequestInit => ({
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ csrf_token: token }),
      })
      assert.equal((await harness.fetch('/save', json())).status, 403)
      assert.equal((await harness.fetch('/save', json({ 'x-csrf-token': token }))).status, 200)
    })
  })

  it('reads the form itself and a body parser mounted after it skips it (Express 4 and 5)', async () => {
    for (const [name, framework] of EXPRESS_VERSIONS) {
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

  it('answers 413 for a form over 1 MiB that it would read itself, not an empty req.body', async () => {
    for (const [name, framework] of EXPRESS_VERSIONS) {
      const app = appOf(framework)
      app.use(csrf())
      app.post('/save', (req, res) => {
        res.json(req.body)
      })
      await run(app, async (harness, cookie, token) => {
        const response = await harness.fetch(
          '/save',
          form(cookie, `a=${'x'.repeat(2 * 1024 * 1024)}`, { 'x-csrf-token': token }),
        )
        assert.equal(response.status, 413, name)
      })
    }
  })

  it('fails an oversized body before it has all arrived, asking to close the connection', async () => {
    const app = appOf(express)
    app.use(csrf())
    app.post('/save', (_req, res) => {
      res.send('saved')
    })
    // Express's own final handler waits for the whole body before it answers; an app's handler
    // can answer at once, with the error's headers.
    const handler: ErrorRequestHandler = (error, _req, res, next) => {
      if (!(error instanceof FormTooLargeError)) return void next(error)
      res.status(error.statusCode).set(error.headers).send(error.message)
    }
    app.use(handler)
    await run(app, async (harness, cookie, token) => {
      await assertOversizedFormRefusedEarly(`${harness.origin}/save`, {
        cookie,
        'x-csrf-token': token,
      })
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

  it('ignores X-Forwarded-Host over real HTTPS without trust proxy', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cloakroom-tls-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')]
    const made = spawnSync('openssl', [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
      ...['-subj', '/CN=localhost', '-keyout', key, '-out', cert],
    ])
    if (made.status !== 0) {
      if (process.env.CI === 'true') throw new Error('openssl is needed for the HTTPS test')
      t.skip('openssl is not installed')
      return
    }
    const app = appOf(express)
    app.post('/save', csrf(), (_req, res) => {
      res.send('saved')
    })
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, app)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const port = (server.address() as AddressInfo).port
    const send = (method: string, headers: Record<string, string>) =>
      new Promise<{ status: number; body: string; cookie: string | undefined }>(
        (resolve, reject) => {
          const request = httpsRequest(
            {
              host: '127.0.0.1',
              port,
              method,
              headers,
              path: method === 'GET' ? '/token' : '/save',
              rejectUnauthorized: false,
            },
            (response) => {
              let body = ''
              response.on('data', (chunk: Buffer) => (body += chunk.toString()))
              response.on('end', () =>
                resolve({
                  status: response.statusCode!,
                  body,
                  cookie: response.headers['set-cookie']?.[0]?.split(';')[0],
                }),
              )
            },
          )
          request.on('error', reject)
          request.end()
        },
      )
    const { body: token, cookie } = await send('GET', {})
    const post = (origin: string, forwardedHost?: string) =>
      send('POST', {
        cookie: cookie!,
        'x-csrf-token': token,
        origin,
        ...(forwardedHost === undefined ? {} : { 'x-forwarded-host': forwardedHost }),
      })
    assert.equal((await post(`https://127.0.0.1:${port}`)).status, 200)
    const spoofed = await post('https://127.0.0.1:1', '127.0.0.1:1')
    assert.equal(spoofed.status, 403, 'X-Forwarded-Host counts only with trust proxy')
  })
})
