import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { describe, it } from 'node:test'
import type { InvalidCookieReason } from '../codec/cookie-codec.js'
import { ConfigError, InvalidArgumentError, UnserializableValueError } from '../errors.js'
import { systemFields } from '../session/session.js'
import { createPyramidCookieFactory } from './pyramid-cookie-factory.js'

const SECRET = 'a-pyramid-secret-that-is-long-enough-0123456789'
const NOW = 1_700_000_000_000

function pyramidCookie(json: string, secret = SECRET): string {
  const payload = Buffer.from(json, 'utf8')
  const signature = createHmac('sha512', Buffer.from(`pyramid.session.${secret}`, 'latin1'))
    .update(payload)
    .digest()
  return Buffer.concat([signature, payload]).toString('base64url')
}

function valueOf(setCookie: string): string {
  return setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';'))
}

describe('createPyramidCookieFactory', () => {
  it('loads a Pyramid cookie and writes back one Pyramid reads', () => {
    let now = NOW
    const factory = createPyramidCookieFactory({ secret: SECRET, now: () => now })
    const json = `[${NOW / 1000 - 10}, ${NOW / 1000 - 100.5}, {"count": 1, "_f_": ["hi"], "_csrft_": "tok"}]`
    const session = factory.load(`other=1; session=${pyramidCookie(json)}`)
    assert.ok(!(session instanceof Promise))
    assert.equal(session.isNew, false)
    assert.equal(session.created, NOW - 100_500)
    assert.equal(session.get('count'), 1)
    assert.deepEqual([...session.keys()], ['count'])
    assert.deepEqual(systemFields(session).read('flash:'), ['hi'])
    assert.equal(systemFields(session).read('csrf'), 'tok')
    session.set('count', 2)
    now += 5_000
    const headers = factory.commit(session) as readonly string[]
    assert.equal(headers.length, 1)
    assert.match(headers[0]!, /^session=[A-Za-z0-9_-]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
    const bytes = Buffer.from(valueOf(headers[0]!), 'base64url')
    assert.deepEqual(JSON.parse(bytes.subarray(64).toString('utf8')), [
      (NOW + 5_000) / 1000,
      NOW / 1000 - 100.5,
      { count: 2, _f_: ['hi'], _csrft_: 'tok' },
    ])
  })

  it('round-trips its own cookies', () => {
    const factory = createPyramidCookieFactory({ secret: SECRET, now: () => NOW })
    const first = factory.load(undefined)
    assert.ok(!(first instanceof Promise))
    first.set('name', 'Peña €')
    first.set('nested', { a: [1, { b: null }] })
    const [header] = factory.commit(first) as readonly string[]
    const second = factory.load(`session=${valueOf(header!)}`)
    assert.ok(!(second instanceof Promise))
    assert.equal(second.isNew, false)
    assert.equal(second.created, NOW)
    assert.deepEqual(second.toJSON(), { name: 'Peña €', nested: { a: [1, { b: null }] } })
  })

  it('reads back every cookie its maxCookieBytes lets it write, up to the 64 KiB maximum', () => {
    const factory = createPyramidCookieFactory({
      secret: SECRET,
      now: () => NOW,
      maxCookieBytes: 65_536,
    })
    const first = factory.load(undefined)
    assert.ok(!(first instanceof Promise))
    first.set('blob', 'x'.repeat(40_000))
    const [header] = factory.commit(first) as readonly string[]
    const second = factory.load(`session=${valueOf(header!)}`)
    assert.ok(!(second instanceof Promise))
    assert.equal(second.get('blob'), 'x'.repeat(40_000))
  })

  it('gives a fresh session for forged, foreign, malformed and expired cookies', () => {
    const reasons: InvalidCookieReason[] = []
    const factory = createPyramidCookieFactory({
      secret: SECRET,
      now: () => NOW,
      onInvalidCookie: (reason) => reasons.push(reason),
    })
    const cookies = [
      pyramidCookie(`[${NOW / 1000}, ${NOW / 1000}, {"a": 1}]`, `${SECRET}-other`),
      pyramidCookie(`[${NOW / 1000}, ${NOW / 1000}, [1, 2]]`),
      pyramidCookie(`[${NOW / 1000 - 1201}, ${NOW / 1000 - 2000}, {"a": 1}]`),
      'garbage',
    ]
    for (const cookie of cookies) {
      const session = factory.load(`session=${cookie}`)
      assert.ok(!(session instanceof Promise))
      assert.equal(session.isNew, true)
      assert.equal(session.get('a'), undefined)
    }
    assert.deepEqual(reasons, ['bad-signature', 'malformed', 'expired', 'malformed'])
  })

  it('stores plain JSON by default, refusing Date', () => {
    const factory = createPyramidCookieFactory({ secret: SECRET, now: () => NOW })
    const session = factory.load(undefined)
    assert.ok(!(session instanceof Promise))
    assert.throws(
      () => session.set('when', new Date(0)),
      (error: unknown) =>
        error instanceof UnserializableValueError && error.code === 'ERR_UNSERIALIZABLE_VALUE',
    )
  })

  it('refuses the keys Pyramid reserves at set(), setDefault() and update(), storing nothing', () => {
    const factory = createPyramidCookieFactory({ secret: SECRET, now: () => NOW })
    const session = factory.load(undefined)
    assert.ok(!(session instanceof Promise))
    const refused = (error: unknown): boolean =>
      error instanceof InvalidArgumentError &&
      error.code === 'ERR_INVALID_ARGUMENT' &&
      /Pyramid's cookie format reserves/.test(error.message)
    for (const key of ['_csrft_', '_f_', '_f_notes', '_cloakroom_owner']) {
      assert.throws(() => session.set(key, 1), refused, key)
      assert.throws(() => session.setDefault(key, 1), refused, key)
    }
    assert.throws(() => session.update({ fine: 1, _f_notes: ['a'] }), refused)
    session.set('_other', 1)
    assert.deepEqual([...session.keys()], ['_other'])
  })

  it('refuses a secret shorter than 32 bytes and an unknown hashalg', () => {
    for (const [options, option] of [
      [{ secret: 'pyramid-demo-secret' }, 'secret'],
      [{ secret: SECRET, hashalg: 'whirlpool' }, 'hashalg'],
      [{ secret: SECRET, cookieName: 'bad name' }, 'cookieName'],
    ] as const) {
      assert.throws(
        () => createPyramidCookieFactory(options),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.code === 'ERR_INVALID_OPTION' &&
          error.option === option,
        option,
      )
    }
  })
})
