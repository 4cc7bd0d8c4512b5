import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createSignedCookieFactory } from '../factory/signed-cookie-factory.js'
import { withSession } from './web.js'

describe('withSession (cloakroom/web) with a response that cannot carry the cookie', () => {
  it('hands Response.error() back instead of rejecting', async () => {
    const handle = withSession(createSignedCookieFactory({ secrets: 'k'.repeat(43) }), (_, s) => {
      s.set('seen', true)
      return Response.error()
    })
    const response = await handle(new Request('http://localhost/'))
    assert.equal(response.type, 'error')
  })
})
