import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { fromStorableKey, toStorableKey } from './storable-key.js'

// eslint-disable-next-line no-control-regex -- U+0000 is exactly what this looks for
const UNSTORABLE = /[\u0000\p{Cs}]/u

/** Any UTF-16 string, unpaired surrogates included. */
const codeUnits = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 1, 0xd800, 0xdc00, 92)))
  .map((units) => String.fromCharCode(...units))

describe('storable keys', () => {
  it('round-trip every string, and never hold U+0000 or an unpaired surrogate', () => {
    fc.assert(
      fc.property(codeUnits, fc.string({ unit: 'grapheme' }), (a, b) => {
        for (const key of [a, b, `\u0001${a}`, `${b}\u0000`]) {
          const stored = toStorableKey(key)
          assert.equal(UNSTORABLE.test(stored), false)
          assert.equal(fromStorableKey(stored), key)
        }
      }),
    )
  })

  it('keep ordinary keys as they are, backslashes and quotes included', () => {
    for (const key of ['cart', '', '__proto__', 'a\\u0000', 'quote"d', 'é😀']) {
      assert.equal(toStorableKey(key), key)
    }
    assert.notEqual(toStorableKey('a\u0000'), toStorableKey('a\\u0000'))
  })

  it('read a key that starts with U+0001 but does not decode as it is', () => {
    assert.equal(fromStorableKey('\u0001not json'), '\u0001not json')
    assert.equal(fromStorableKey('\u00011'), '\u00011')
  })
})
