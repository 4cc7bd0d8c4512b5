import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { commitFailingFactory } from '../../../test/helpers/factories.js'
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

describe('withSession (cloakroom/web) when the commit fails', () => {
  it("answers 503 and releases the handler's response body", async () => {
    const down = commitFailingFactory()
    let cancelled = false
    const handle = withSession(
      down,
      (_, session) => {
        session.set('n', 1)
        const body = new ReadableStream({ cancel: () => void (cancelled = true) })
        return new Response(body, { headers: { 'cache-control': 'public, max-age=600' } })
      },
      { onError: () => {} },
    )
    const response = await handle(new Request('http://localhost/'))
    assert.equal(response.status, 503)
    assert.equal(response.headers.get('cache-control'), 'no-store')
    assert.equal(cancelled, true)
  })
})
