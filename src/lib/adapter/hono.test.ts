import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Hono } from 'hono'
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
})
