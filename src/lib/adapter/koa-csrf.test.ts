import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import Koa from 'koa'
import { CsrfError } from '../errors.js'
import { createSignedCookieFactory } from '../factory/signed-cookie-factory.js'
import { listenHarness, type AdapterSuiteHarness } from '../testing/adapter-suite.js'
import { assertOversizedFormRefusedEarly } from '../../../test/helpers/http.js'
import { csrf } from './koa-csrf.js'
import { session } from './koa.js'

async function run(
  app: Koa,
  test: (harness: AdapterSuiteHarness, cookie: string, token: string) => Promise<void>,
): Promise<void> {
  const harness = await listenHarness(app.callback())
  try {
    const response = await harness.fetch('/token')
    const [setCookie] = response.headers.getSetCookie()
    await test(harness, setCookie!.slice(0, setCookie!.indexOf(';')), await response.text())
  } finally {
    await harness.close()
  }
}

/** An app whose `/token` gives the session's token; `before` runs between session and csrf. */
function appOf(before?: Koa.Middleware): Koa {
  const app = new Koa()
  app.silent = true
  app.use(session(createSignedCookieFactory({ secrets: 'k'.repeat(43) })))
  app.use(async (ctx, next) => {
    if (ctx.path === '/token') ctx.body = ctx.session.getCsrfToken()
    else await next()
  })
  if (before !== undefined) app.use(before)
  app.use(csrf())
  return app
}

describe('csrf (cloakroom/koa)', () => {
  it('throws a CsrfError with status 403 through ctx.throw, for an outer middleware', async () => {
    const seen: unknown[] = []
    const app = new Koa()
    app.silent = true
    app.use(async (ctx, next) => {
      try {
        await next()
      } catch (error) {
        seen.push(error)
        ctx.status = 403
        ctx.body = 'custom refusal'
      }
    })
    app.use(session(createSignedCookieFactory({ secrets: 'k'.repeat(43) })))
    app.use(csrf())
    const harness = await listenHarness(app.callback())
    try {
      const response = await harness.fetch('/save', { method: 'POST' })
      assert.equal(response.status, 403)
      assert.equal(await response.text(), 'custom refusal')
      const [error] = seen as (CsrfError & { status?: number; expose?: boolean })[]
      assert.ok(error instanceof CsrfError)
      assert.equal(error.code, 'ERR_CSRF_REJECTED')
      assert.equal(error.reason, 'missing-token')
      assert.equal(error.status, 403)
      assert.equal(error.expose, true)
    } finally {
      await harness.close()
    }
  })

  it("answers 403 through Koa's own error handling, with the error's message", async () => {
    const app = appOf()
    await run(app, async (harness) => {
      const response = await harness.fetch('/save', { method: 'POST' })
      assert.equal(response.status, 403)
      assert.match(await response.text(), /no CSRF token/)
    })
  })

  it('reads the token from ctx.request.body set by a body parser before it, and keeps that body', async () => {
    const app = appOf(async (ctx, next) => {
      // A stand-in for a body parser that already parsed the request.
      ;(ctx.request as { body?: unknown }).body = { csrf_token: ctx.get('x-token'), from: 'parser' }
      await next()
    })
    app.use((ctx) => {
      ctx.body = (ctx.request as { body?: unknown }).body
    })
    await run(app, async (harness, cookie, token) => {
      const response = await harness.fetch('/save', {
        method: 'POST',
        headers: { cookie, 'x-token': token, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'ignored=1',
      })
      assert.equal(response.status, 200)
      assert.deepEqual(await response.json(), { csrf_token: token, from: 'parser' })
    })
  })

  it('never takes the token from a JSON body, as no adapter does: a fetch() sends the header', async () => {
    const app = appOf(async (ctx, next) => {
      // A stand-in for a body parser that parsed a JSON body.
      ;(ctx.request as { body?: unknown }).body = { csrf_token: ctx.get('x-token') }
      await next()
    })
    app.use((ctx) => {
      ctx.body = 'saved'
    })
    await run(app, async (harness, cookie, token) => {
      const json = (headers: Record<string, string>): RequestInit => ({
        method: 'POST',
        headers: { cookie, 'x-token': token, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ csrf_token: token }),
      })
      assert.equal((await harness.fetch('/save', json({}))).status, 403)
      assert.equal((await harness.fetch('/save', json({ 'x-csrf-token': token }))).status, 200)
    })
  })

  it('does not read the body of a safe request', async () => {
    const app = appOf()
    app.use((ctx) => {
      ctx.body = String((ctx.request as { body?: unknown }).body)
    })
    await run(app, async (harness) => {
      const response = await harness.fetch('/search', {
        method: 'OPTIONS',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'q=1',
      })
      assert.equal(await response.text(), 'undefined')
    })
  })

  it('answers 413 for a form over 1 MiB that it would read itself, not an empty body', async () => {
    const app = appOf()
    app.use((ctx) => {
      ctx.body = 'saved'
    })
    await run(app, async (harness, cookie, token) => {
      const response = await harness.fetch('/save', {
        method: 'POST',
        headers: {
          cookie,
          'x-csrf-token': token,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: `a=${'x'.repeat(2 * 1024 * 1024)}`,
      })
      assert.equal(response.status, 413)
    })
  })

  it('answers 413 and closes the connection before an oversized body has all arrived', async () => {
    const app = appOf()
    app.use((ctx) => {
      ctx.body = 'saved'
    })
    await run(app, async (harness, cookie, token) => {
      await assertOversizedFormRefusedEarly(`${harness.origin}/save`, {
        cookie,
        'x-csrf-token': token,
      })
    })
  })
})
