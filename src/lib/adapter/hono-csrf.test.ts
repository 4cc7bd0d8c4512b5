import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { CsrfError } from '../errors.js'
import { createSignedCookieFactory } from '../factory/signed-cookie-factory.js'
import { csrf } from './hono-csrf.js'
import { session } from './hono.js'

function app(): Hono {
  const app = new Hono()
  app.use(session(createSignedCookieFactory({ secrets: 'k'.repeat(43) })))
  app.use(csrf())
  app.get('/token', (c) => c.text(c.get('session').getCsrfToken()))
  return app
}

async function tokenOf(hono: Hono): Promise<{ cookie: string; token: string }> {
  const response = await hono.request('/token')
  const [setCookie] = response.headers.getSetCookie()
  return { cookie: setCookie!.slice(0, setCookie!.indexOf(';')), token: await response.text() }
}

describe('csrf (cloakroom/hono)', () => {
  it('throws an HTTPException(403) whose cause is the CsrfError, for app.onError', async () => {
    const hono = app()
    const seen: unknown[] = []
    hono.post('/save', (c) => c.text('saved'))
    hono.onError((error, c) => {
      seen.push(error)
      return c.text('custom refusal', 403)
    })
    const response = await hono.request('/save', { method: 'POST' })
    assert.equal(response.status, 403)
    assert.equal(await response.text(), 'custom refusal')
    const [error] = seen
    assert.ok(error instanceof HTTPException)
    assert.equal(error.status, 403)
    assert.ok(error.cause instanceof CsrfError)
    assert.equal(error.cause.code, 'ERR_CSRF_REJECTED')
    assert.equal(error.cause.reason, 'missing-token')
  })

  it('answers 403 through Hono without an onError', async () => {
    const hono = app()
    hono.post('/save', (c) => c.text('saved'))
    const response = await hono.request('/save', { method: 'POST' })
    assert.equal(response.status, 403)
    assert.equal(await response.text(), 'Forbidden: CSRF check failed')
  })

  it('reads the token from a multipart form, and the handler reads the form again', async () => {
    const hono = app()
    hono.post('/upload', async (c) => {
      const parsed = await c.req.parseBody()
      const data = await c.req.formData()
      const file = data.get('file') as File
      return c.json({ name: parsed.name, file: await file.text(), again: data.get('name') })
    })
    const { cookie, token } = await tokenOf(hono)
    const form = new FormData()
    form.set('name', 'ann')
    form.set('csrf_token', token)
    form.set('file', new Blob(['file body']), 'a.txt')
    const response = await hono.request('/upload', {
      method: 'POST',
      headers: { cookie },
      body: form,
    })
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), { name: 'ann', file: 'file body', again: 'ann' })
  })

  it('leaves a urlencoded body readable as text and form data', async () => {
    const hono = app()
    hono.post('/save', async (c) =>
      c.json({ text: await c.req.text(), name: (await c.req.formData()).get('name') }),
    )
    const { cookie, token } = await tokenOf(hono)
    const body = `name=bob&csrf_token=${token}`
    const response = await hono.request('/save', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), { text: body, name: 'bob' })
  })

  it('refuses a token sent in a JSON body, and a malformed multipart body', async () => {
    const hono = app()
    hono.post('/save', (c) => c.text('saved'))
    const { cookie, token } = await tokenOf(hono)
    const json = await hono.request('/save', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ csrf_token: token }),
    })
    assert.equal(json.status, 403, 'JSON')
    const malformed = await hono.request('/save', {
      method: 'POST',
      headers: { cookie, 'content-type': 'multipart/form-data; boundary=x' },
      body: `--x\r\nbroken`,
    })
    assert.equal(malformed.status, 403, 'malformed multipart')
  })

  it('refuses a huge form without the token after reading at most 1 MiB of it', async () => {
    const hono = app()
    hono.post('/save', (c) => c.text('saved'))
    const { cookie } = await tokenOf(hono)
    let pulled = 0
    const chunk = new TextEncoder().encode(`a=${'x'.repeat(64 * 1024 - 3)}&`)
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // About 64 MiB in all, which the check must not hold in memory.
        if (pulled >= 64 * 1024 * 1024) return controller.close()
        pulled += chunk.byteLength
        controller.enqueue(chunk)
      },
    })
    const response = await hono.request('/save', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body,
      duplex: 'half',
    } as RequestInit)
    assert.equal(response.status, 403)
    assert.ok(pulled < 2 * 1024 * 1024, `pulled ${pulled} bytes`)
  })

  it("reads the token from Hono's parsed form when a middleware before it read the body", async () => {
    const hono = new Hono()
    hono.use(session(createSignedCookieFactory({ secrets: 'k'.repeat(43) })))
    hono.get('/token', (c) => c.text(c.get('session').getCsrfToken()))
    hono.use('/save', async (c, next) => {
      await c.req.parseBody()
      await next()
    })
    hono.use(csrf())
    hono.post('/save', async (c) => c.text(`saved ${(await c.req.parseBody()).name as string}`))
    const { cookie, token } = await tokenOf(hono)
    const response = await hono.request('/save', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf_token: token, name: 'x' }).toString(),
    })
    assert.equal(response.status, 200)
    assert.equal(await response.text(), 'saved x')
  })
})
