import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createSignedCookieFactory } from 'cloakroom'
import { createFredApp, type FredData } from '../../examples/fred/app.js'
import { CookieJar, startServer, type TestServer } from '../helpers/http.js'

describe('examples/fred (adapted from the Pyramid docs example)', () => {
  let server: TestServer
  const clock = { now: 1_750_000_000_000 }
  before(async () => {
    const factory = createSignedCookieFactory<FredData>({
      secrets: 'f'.repeat(32),
      now: () => clock.now,
    })
    server = await startServer(createFredApp(factory))
  })
  after(() => server.close())

  it('answers not, not, was over three requests, and changes the cookie only when the data does', async () => {
    const jar = new CookieJar()
    const first = await jar.fetch(server.url)
    assert.equal(first.body, 'Fred was not in the session')
    assert.equal(first.setCookies.length, 1, 'abc is new: the cookie is set')
    const afterFirst = jar.get('session')

    clock.now += 1000
    const second = await jar.fetch(server.url)
    assert.equal(
      second.body,
      'Fred was not in the session',
      'the answer describes the session the request brought',
    )
    assert.equal(second.setCookies.length, 1, 'fred is new: the cookie changes')
    assert.notEqual(jar.get('session'), afterFirst)
    const afterSecond = jar.get('session')

    clock.now += 1000
    const third = await jar.fetch(server.url)
    assert.equal(third.body, 'Fred was in the session')
    assert.deepEqual(third.setCookies, [], 'the same values were set again: no new cookie')
    assert.equal(jar.get('session'), afterSecond)
  })
})
