import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { createCsrfToken, maskCsrfToken, verifyCsrfToken } from './csrf-token.js'
import { jsonSerializer } from './serializer.js'
import { Session, sessionChanges } from './session.js'

const context = { serializer: jsonSerializer, now: () => 1000 }

describe('CSRF tokens', () => {
  it('are 256 random bits, base64url, different every time', () => {
    const a = createCsrfToken()
    assert.match(a, /^[A-Za-z0-9_-]{43}$/)
    assert.notEqual(a, createCsrfToken())
  })

  it('verify plain and masked forms, and each masked form differs', () => {
    const token = createCsrfToken()
    assert.equal(verifyCsrfToken(token, token), true)
    const masked = maskCsrfToken(token)
    assert.notEqual(masked, maskCsrfToken(token))
    assert.equal(verifyCsrfToken(token, masked), true)
    assert.equal(verifyCsrfToken(token, maskCsrfToken(createCsrfToken())), false)
  })

  it('refuse wrong, missing and odd input without throwing', () => {
    const token = createCsrfToken()
    const masked = maskCsrfToken(token)
    const flipped = `${masked.slice(0, -2)}${masked.at(-2) === 'A' ? 'B' : 'A'}${masked.at(-1)}`
    const odd: unknown[] = [
      undefined,
      null,
      '',
      42,
      ['x'],
      createCsrfToken(),
      token.slice(1),
      `${token}x`,
      'é'.repeat(43),
      '\u20ac'.repeat(43),
      'x'.repeat(1_000_000),
      flipped,
    ]
    for (const supplied of odd)
      assert.equal(verifyCsrfToken(token, supplied), false, String(supplied).slice(0, 20))
    assert.equal(verifyCsrfToken(undefined, token), false)
    assert.equal(verifyCsrfToken('', ''), false)
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => !verifyCsrfToken(token, s)))
  })

  it('also verify tokens made elsewhere (a Pyramid session holds 40 hex characters)', () => {
    const pyramid = 'a3f1'.repeat(10)
    assert.equal(verifyCsrfToken(pyramid, pyramid), true)
    assert.equal(verifyCsrfToken(pyramid, 'a3f1'.repeat(9) + 'a3f2'), false)
    // Masked, as every page embeds it: plain and masked forms verify alike.
    assert.equal(verifyCsrfToken(pyramid, maskCsrfToken(pyramid)), true)
    assert.equal(verifyCsrfToken(pyramid, maskCsrfToken('a3f1'.repeat(9) + 'a3f2')), false)
    assert.equal(verifyCsrfToken(pyramid, maskCsrfToken(createCsrfToken())), false)
    for (const other of ['not base64url: ü!', 'abc=']) {
      assert.equal(verifyCsrfToken(other, maskCsrfToken(other)), true, other)
      assert.equal(verifyCsrfToken(other, maskCsrfToken(`${other}x`)), false, other)
    }
  })
})

describe('Session CSRF token', () => {
  it('getCsrfToken creates one once, then returns the same', () => {
    const s = new Session({ created: 1, isNew: true }, context)
    const token = s.getCsrfToken()
    assert.equal(s.getCsrfToken(), token)
    assert.ok(sessionChanges(s).systemChanges()?.set.has('csrf'))
  })

  it('newCsrfToken replaces the token; regenerate() and invalidate() rotate it', () => {
    const s = new Session({ created: 1, isNew: false, system: [['csrf', 'old']] }, context)
    assert.equal(s.getCsrfToken(), 'old')
    assert.equal(
      sessionChanges(s).systemChanges(),
      undefined,
      'reading an existing token writes nothing',
    )
    const fresh = s.newCsrfToken()
    assert.notEqual(fresh, 'old')
    s.regenerate()
    const afterLogin = s.getCsrfToken()
    assert.notEqual(afterLogin, fresh)
    s.invalidate()
    assert.notEqual(s.getCsrfToken(), afterLogin)
  })

  it('uses the injected randomness', () => {
    const s = new Session(
      { created: 1, isNew: true },
      { ...context, randomBytes: (n) => new Uint8Array(n).fill(1) },
    )
    assert.equal(s.newCsrfToken(), Buffer.alloc(32, 1).toString('base64url'))
  })
})
