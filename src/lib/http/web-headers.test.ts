import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { responseWithCookies } from './web-headers.js'

describe('responseWithCookies', () => {
  it('adds the cookies to a copy, leaving a response shared between requests untouched', async () => {
    const shared = new Response('hello', { status: 201, headers: { vary: 'Accept' } })
    const sent = responseWithCookies(shared, ['a=1; Path=/'])
    assert.notEqual(sent, shared)
    assert.equal(sent.status, 201)
    assert.deepEqual(sent.headers.getSetCookie(), ['a=1; Path=/'])
    assert.equal(sent.headers.get('vary'), 'Accept, Cookie')
    assert.equal(await sent.text(), 'hello')
    assert.deepEqual(shared.headers.getSetCookie(), [])
  })

  it('copies a response whose headers are immutable', () => {
    const sent = responseWithCookies(Response.redirect('http://localhost/next', 303), ['a=1'])
    assert.equal(sent.status, 303)
    assert.equal(sent.headers.get('location'), 'http://localhost/next')
    assert.deepEqual(sent.headers.getSetCookie(), ['a=1'])
  })

  it('returns a response no Response can be built with as it is', () => {
    const failed = Response.error()
    assert.equal(responseWithCookies(failed, ['a=1']), failed)
  })
})
