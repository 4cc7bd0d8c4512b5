import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Hono } from 'hono'
import { commitFailingFactory } from '../../../test/helpers/factories.js'
import { createSignedCookieFactory } from '../factory/signed-cookie-factory.js'
import { session } from './hono.js'

// No @hono/node-server here: it replaces the global Response with one whose headers are mutable.
describe('session (cloakroom/hono)', () => {
  it('adds the cookie to a response whose headers are immutable', async () => {
    const app = new Hono()
    app.use(session(createSignedCookieFactory({ secrets: 'k'.repeat(43) })))
    app.get('/', (c) => {
      c.get('session').set('seen', true)
      return Response.redirect('http://localhost/next', 302)
    })
    const response = await app.request('/')
    assert.equal(response.status, 302)
    assert.equal(response.headers.get('location'), 'http://localhost/next')
    assert.equal(response.headers.getSetCookie().length, 1)
    assert.equal(response.headers.get('vary'), 'Cookie')
  })

  it('hands back Response.error() instead of failing the request', async () => {
    const app = new Hono()
    app.use(session(createSignedCookieFactory({ secrets: 'k'.repeat(43) })))
    app.get('/', (c) => {
      c.get('session').set('seen', true)
      return Response.error()
    })
    const response = await app.request('/')
    assert.equal(response.type, 'error')
  })

  it('puts the cookie on a copy of a response that every request shares', async () => {
    const app = new Hono()
    const noContent = new Response(null, { status: 204 })
    app.use(session(createSignedCookieFactory({ secrets: 'k'.repeat(43) })))
    app.post('/ping', (c) => {
      c.get('session').set('user', c.req.query('u'))
      return noContent
    })
    for (const user of ['alice', 'bob', 'carol']) {
      const response = await app.request(`/ping?u=${user}`, { method: 'POST' })
      assert.equal(response.status, 204)
      assert.equal(response.headers.getSetCookie().length, 1, user)
    }
    assert.deepEqual(noContent.headers.getSetCookie(), [])
  })

  it("answers a failed commit with a response of its own, not the handler's headers", async () => {
    const down = commitFailingFactory()
    let cancelled = false
    const app = new Hono()
    app.use(session(down))
    app.get('/', (c) => {
      c.get('session').set('n', 1)
      const body = new ReadableStream({
        start: (controller) => controller.enqueue(new TextEncoder().encode('x'.repeat(100))),
        cancel: () => void (cancelled = true),
      })
      return new Response(body, {
        headers: {
          'cache-control': 'public, max-age=600',
          etag: '"v1"',
          'content-length': '100',
          'set-cookie': 'theme=dark',
        },
      })
    })
    const response = await app.request('/')
    assert.equal(response.status, 503)
    assert.equal(response.headers.get('cache-control'), 'no-store')
    assert.equal(response.headers.get('etag'), null)
    assert.equal(response.headers.get('content-length'), null)
    assert.deepEqual(response.headers.getSetCookie(), [])
    assert.equal(await response.text(), 'Service Unavailable')
    assert.equal(cancelled, true, "the handler's body is released")
  })
})
