import assert from 'node:assert/strict'
import { createHmac, hkdfSync } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { CookieDecodeResult } from './cookie-codec.js'
import { createKeyring } from './keyring.js'
import { createSignedCodec } from './signed-codec.js'

const SECRET = 'k'.repeat(32)
const OLD_SECRET = 'o'.repeat(32)
const codecFor = (secrets: string[], purpose = 'signed-cookie/session') =>
  createSignedCodec({ keyring: createKeyring(secrets, purpose), cacheEntries: 0 })

const payload = { created: 1_700_000_000_000, lastActive: 1_700_000_100_000, body: '{"d":{"a":1}}' }

const refused = (result: CookieDecodeResult): string => {
  assert.equal(result.ok, false)
  return result.ok ? '' : result.reason
}

describe('createSignedCodec', () => {
  it('round-trips a payload', () => {
    const codec = codecFor([SECRET])
    const result = codec.decode(codec.encode(payload))
    assert.deepEqual(result, { ok: true, staleKey: false, payload })
  })

  it('writes only cookie-safe characters: version, key id, times, base64url body and MAC', () => {
    const value = codecFor([SECRET]).encode(payload)
    assert.match(
      value,
      /^1\.[A-Za-z0-9_-]{8}\.[0-9a-z]+\.[0-9a-z]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/,
    )
  })

  it('computes the MAC as documented: HMAC-SHA256 under an HKDF key bound to the cookie name', () => {
    const value = codecFor([SECRET]).encode(payload)
    const signed = value.slice(0, value.lastIndexOf('.'))
    const key = Buffer.from(
      hkdfSync('sha256', SECRET, 'cloakroom', 'cloakroom/v1/signed-cookie/session', 32),
    )
    assert.equal(
      value.slice(value.lastIndexOf('.') + 1),
      createHmac('sha256', key).update(signed).digest('base64url'),
    )
  })

  it('refuses a value made for another cookie name or purpose', () => {
    const value = codecFor([SECRET], 'signed-cookie/other').encode(payload)
    assert.equal(refused(codecFor([SECRET]).decode(value)), 'bad-signature')
  })

  it('accepts a value signed by an older secret and flags it for re-issue', () => {
    const old = codecFor([OLD_SECRET]).encode(payload)
    const result = codecFor([SECRET, OLD_SECRET]).decode(old)
    assert.ok(result.ok)
    assert.equal(result.staleKey, true)
  })

  it('refuses a value whose key is no longer configured, without trying other keys', () => {
    const old = codecFor([OLD_SECRET]).encode(payload)
    assert.equal(refused(codecFor([SECRET]).decode(old)), 'unknown-key')
  })

  it('tells malformed values and other versions apart', () => {
    const codec = codecFor([SECRET])
    const value = codec.encode(payload)
    assert.equal(refused(codec.decode('')), 'malformed')
    assert.equal(refused(codec.decode('garbage')), 'malformed')
    assert.equal(refused(codec.decode(`2${value.slice(1)}`)), 'unsupported-version')
    assert.equal(refused(codec.decode('x'.repeat(20_000))), 'malformed')
  })

  it('refuses every single-character change, truncation and extension, never throwing', () => {
    const codec = codecFor([SECRET])
    const value = codec.encode(payload)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ %'
    for (let index = 0; index < value.length; index++) {
      for (const replacement of alphabet) {
        if (replacement === value[index]) continue
        const mutated = value.slice(0, index) + replacement + value.slice(index + 1)
        assert.equal(codec.decode(mutated).ok, false, `position ${index} → ${replacement}`)
      }
      assert.equal(codec.decode(value.slice(0, index)).ok, false, `truncated to ${index}`)
    }
    assert.equal(codec.decode(`${value}A`).ok, false)
    assert.equal(codec.decode(`${value}.`).ok, false)
  })

  it('decodes any random string to "invalid", never throwing and never yielding data', () => {
    const codec = codecFor([SECRET])
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String()),
        (value) => {
          assert.equal(codec.decode(value).ok, false)
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('round-trips any body and times (property)', () => {
    const codec = codecFor([SECRET])
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.integer({ min: 0, max: 2 ** 42 }),
        fc.integer({ min: 0, max: 2 ** 42 }),
        (body, created, lastActive) => {
          const result = codec.decode(codec.encode({ body, created, lastActive }))
          assert.deepEqual(result, {
            ok: true,
            staleKey: false,
            payload: { body, created, lastActive },
          })
        },
      ),
      { numRuns: 300 },
    )
  })

  it('memoizes verified values but still refuses forged ones', () => {
    const codec = createSignedCodec({ keyring: createKeyring([SECRET], 'signed-cookie/session') })
    const value = codec.encode(payload)
    assert.equal(
      codec.decode(value),
      codec.decode(value),
      'the second decode is served from the cache',
    )
    assert.equal(codec.decode(`${value.slice(0, -1)}${value.endsWith('A') ? 'B' : 'A'}`).ok, false)
  })
})

describe('createKeyring', () => {
  it('refuses missing and short secrets with a hint to generate one', () => {
    assert.throws(() => createKeyring(undefined, 'p'), {
      code: 'ERR_INVALID_OPTION',
      message: /keygen/,
    })
    assert.throws(() => createKeyring([], 'p'), { code: 'ERR_INVALID_OPTION' })
    assert.throws(() => createKeyring('short', 'p'), {
      code: 'ERR_INVALID_OPTION',
      message: /5 bytes.*32/,
    })
    assert.throws(() => createKeyring([SECRET, 'short'], 'p'), { message: /secrets\[1\]/ })
  })

  it('accepts explicit key ids and refuses duplicates or unsafe ids', () => {
    const ring = createKeyring([{ id: 'k2026', secret: SECRET }, OLD_SECRET], 'p')
    assert.equal(ring.current.id, 'k2026')
    assert.equal(ring.find('k2026')?.index, 0)
    assert.throws(() => createKeyring([SECRET, SECRET], 'p'), { message: /used twice/ })
    assert.throws(() => createKeyring([{ id: 'a.b', secret: SECRET }], 'p'), { message: /key id/ })
  })
})
