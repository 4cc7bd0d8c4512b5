import assert from 'node:assert/strict'
import { createDecipheriv, hkdfSync } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { CookieDecodeResult, CookiePayload } from './cookie-codec.js'
import { createEncryptedCodec, MAX_ENCRYPTED_VALUE_LENGTH } from './encrypted-codec.js'
import { createKeyring, type Secrets } from './keyring.js'
import { createSignedCodec } from './signed-codec.js'

const SECRET = 'e'.repeat(32)
const OTHER_SECRET = 'x'.repeat(32)
const PURPOSE = 'encrypted-cookie/session'

const codecFor = (
  secrets: Secrets,
  cookieName = 'session',
  purpose = `encrypted-cookie/${cookieName}`,
) => createEncryptedCodec({ keyring: createKeyring(secrets, purpose), cookieName, cacheEntries: 0 })

const payload: CookiePayload = {
  created: 1_700_000_000_000,
  lastActive: 1_700_000_100_000,
  body: '{"d":{"user":"ann","cart":["book"]}}',
}

const reasonOf = (result: CookieDecodeResult): string => (result.ok ? 'accepted' : result.reason)

const BASE64URL_AND_DOT = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'

describe('createEncryptedCodec', () => {
  it('round-trips a payload and writes e1.<key id>.<iv>.<ciphertext+tag> in base64url', () => {
    const codec = codecFor(SECRET)
    const value = codec.encode(payload)
    assert.match(value, /^e1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/)
    assert.deepEqual(codec.decode(value), { ok: true, staleKey: false, payload })
  })

  it('keeps the content confidential: neither the data nor the times appear in the value', () => {
    const value = codecFor(SECRET).encode(payload)
    const decoded = Buffer.from(value.split('.')[3]!, 'base64url').toString('latin1')
    assert.ok(!value.includes('ann') && !decoded.includes('ann') && !decoded.includes('book'))
    assert.ok(!value.includes(payload.created.toString(36)))
    assert.ok(!value.includes(Buffer.from(payload.body).toString('base64url').slice(0, 12)))
  })

  it('uses a fresh random IV for every value, so equal payloads never give equal values', () => {
    const codec = codecFor(SECRET)
    const values = new Set(Array.from({ length: 50 }, () => codec.encode(payload)))
    const ivs = new Set([...values].map((value) => value.split('.')[2]))
    assert.equal(values.size, 50)
    assert.equal(ivs.size, 50)
  })

  it('encrypts as documented: AES-256-GCM, HKDF key per purpose, AAD e1.<key id>.<cookie name>', () => {
    const value = codecFor({ id: 'k1', secret: SECRET }).encode(payload)
    const [, keyId, ivText, sealedText] = value.split('.') as [string, string, string, string]
    const key = Buffer.from(hkdfSync('sha256', SECRET, 'cloakroom', `cloakroom/v1/${PURPOSE}`, 32))
    const sealed = Buffer.from(sealedText, 'base64url')
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'), {
      authTagLength: 16,
    })
    decipher.setAAD(Buffer.from(`e1.${keyId}.session`))
    decipher.setAuthTag(sealed.subarray(-16))
    const plain = Buffer.concat([decipher.update(sealed.subarray(0, -16)), decipher.final()])
    assert.equal(plain.readUIntBE(0, 6), payload.created)
    assert.equal(plain.readUIntBE(6, 6), payload.lastActive)
    assert.equal(plain.toString('utf8', 12), payload.body)
  })

  it('still decodes a value frozen from wire format e1 (golden fixture)', () => {
    const codec = codecFor({ id: 'k2025', secret: 'fixture-secret-0123456789abcdefghij' })
    const frozen =
      'e1.k2025.BwcHBwcHBwcHBwcH.zaKIXoYJyOkcoEWpqWJkec8qQ_d1AMGq6R_U1WGm0HaLkWOX1OCir7pWh0Wkf4rD'
    assert.deepEqual(codec.decode(frozen), {
      ok: true,
      staleKey: false,
      payload: {
        created: 1_750_000_000_000,
        lastActive: 1_750_000_060_000,
        body: '{"d":{"user":"ann"}}',
      },
    })
    // The same IV (injected) gives the same value: the format itself has not changed.
    const fixed = createEncryptedCodec({
      keyring: createKeyring(
        { id: 'k2025', secret: 'fixture-secret-0123456789abcdefghij' },
        PURPOSE,
      ),
      cookieName: 'session',
      randomBytes: (size) => Buffer.alloc(size, 7),
    })
    assert.equal(
      fixed.encode({
        created: 1_750_000_000_000,
        lastActive: 1_750_000_060_000,
        body: '{"d":{"user":"ann"}}',
      }),
      frozen,
    )
  })

  it('refuses every named tampering with one reason each, without throwing', () => {
    const codec = codecFor([{ id: 'new', secret: SECRET }])
    const value = codec.encode(payload)
    const [version, keyId, iv, sealed] = value.split('.') as [string, string, string, string]
    const otherIv = codec.encode(payload).split('.')[2]!
    const cases: [string, string, string][] = [
      [
        'wrong key (same id, other secret)',
        codecFor([{ id: 'new', secret: OTHER_SECRET }]).encode(payload),
        'bad-signature',
      ],
      [
        'key id not configured',
        codecFor([{ id: 'gone', secret: SECRET }]).encode(payload),
        'unknown-key',
      ],
      [
        'bit flip in the ciphertext',
        `${version}.${keyId}.${iv}.${sealed[0] === 'A' ? 'B' : 'A'}${sealed.slice(1)}`,
        'bad-signature',
      ],
      [
        'truncated tag (4 bytes less)',
        `${version}.${keyId}.${iv}.${Buffer.from(sealed, 'base64url').subarray(0, -4).toString('base64url')}`,
        'bad-signature',
      ],
      [
        'tag and header only, no ciphertext',
        `${version}.${keyId}.${iv}.${Buffer.alloc(20).toString('base64url')}`,
        'bad-signature',
      ],
      ['swapped IV', `${version}.${keyId}.${otherIv}.${sealed}`, 'bad-signature'],
      ['short IV', `${version}.${keyId}.${iv.slice(0, 12)}.${sealed}`, 'bad-signature'],
      ['non-canonical base64 (padding)', `${value}=`, 'bad-signature'],
      ['other version', `e2.${keyId}.${iv}.${sealed}`, 'unsupported-version'],
      [
        'signed value',
        createSignedCodec({ keyring: createKeyring(SECRET, 'signed-cookie/session') }).encode(
          payload,
        ),
        'malformed',
      ],
      ['too many parts', `${value}.x`, 'malformed'],
      ['empty', '', 'malformed'],
      ['too long', `e1.new.${'A'.repeat(MAX_ENCRYPTED_VALUE_LENGTH)}.x`, 'malformed'],
    ]
    for (const [label, mutated, reason] of cases) {
      assert.equal(reasonOf(codec.decode(mutated)), reason, label)
    }
  })

  it('binds the cookie name: a value cannot be moved to another cookie, even with the same keys', () => {
    const keyring = createKeyring(SECRET, PURPOSE)
    const made = createEncryptedCodec({ keyring, cookieName: 'session' }).encode(payload)
    const other = createEncryptedCodec({ keyring, cookieName: 'admin' })
    assert.equal(reasonOf(other.decode(made)), 'bad-signature')
    // And the factory derives its keys per cookie name as well.
    assert.equal(reasonOf(codecFor(SECRET, 'admin').decode(made)), 'bad-signature')
  })

  it('decrypts with an older key by its id and reports it as stale', () => {
    const old = codecFor([{ id: 'old', secret: OTHER_SECRET }]).encode(payload)
    const rotated = codecFor([
      { id: 'new', secret: SECRET },
      { id: 'old', secret: OTHER_SECRET },
    ])
    assert.deepEqual(rotated.decode(old), { ok: true, staleKey: true, payload })
    assert.match(rotated.encode(payload), /^e1\.new\./)
  })

  it('caches decrypted values when asked to', () => {
    const codec = createEncryptedCodec({
      keyring: createKeyring(SECRET, PURPOSE),
      cookieName: 'session',
    })
    const value = codec.encode(payload)
    assert.equal(codec.decode(value), codec.decode(value))
  })

  describe('properties', () => {
    const arbitraryPayload = fc.record({
      created: fc.integer({ min: 0, max: 2 ** 47 }),
      lastActive: fc.integer({ min: 0, max: 2 ** 47 }),
      body: fc.oneof(fc.json(), fc.string({ unit: 'grapheme', maxLength: 300 })),
    })

    it('round-trips any payload', () => {
      const codec = codecFor(SECRET)
      fc.assert(
        fc.property(arbitraryPayload, (generated) => {
          assert.deepEqual(codec.decode(codec.encode(generated)), {
            ok: true,
            staleKey: false,
            payload: { ...generated },
          })
        }),
        { numRuns: 300 },
      )
    })

    it('refuses every single-character change, deletion and truncation of a valid value, never throwing', () => {
      const codec = codecFor(SECRET)
      const value = codec.encode(payload)
      let checked = 0
      for (let index = 0; index < value.length; index++) {
        for (const char of BASE64URL_AND_DOT) {
          if (char === value[index]) continue
          const mutated = value.slice(0, index) + char + value.slice(index + 1)
          assert.equal(codec.decode(mutated).ok, false, `replace ${index} with ${char}`)
          checked++
        }
        assert.equal(
          codec.decode(value.slice(0, index) + value.slice(index + 1)).ok,
          false,
          `delete ${index}`,
        )
        assert.equal(codec.decode(value.slice(0, index)).ok, false, `truncate to ${index}`)
      }
      assert.ok(checked > 5000)
    })

    it('refuses random mutations of random values and garbage strings, never throwing', () => {
      const codec = codecFor(SECRET)
      const mutation = fc.oneof(
        fc.record({
          kind: fc.constant('replace' as const),
          at: fc.nat(),
          text: fc.string({ minLength: 1, maxLength: 4 }),
        }),
        fc.record({
          kind: fc.constant('insert' as const),
          at: fc.nat(),
          text: fc.string({ minLength: 1, maxLength: 4 }),
        }),
        fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), text: fc.constant('') }),
        fc.record({ kind: fc.constant('flip-bit' as const), at: fc.nat(), text: fc.constant('') }),
      )
      fc.assert(
        fc.property(arbitraryPayload, mutation, (generated, { kind, at, text }) => {
          const value = codec.encode(generated)
          const index = at % value.length
          let mutated: string
          if (kind === 'replace')
            mutated = value.slice(0, index) + text + value.slice(index + text.length)
          else if (kind === 'insert') mutated = value.slice(0, index) + text + value.slice(index)
          else if (kind === 'delete') mutated = value.slice(0, index) + value.slice(index + 1)
          else {
            const parts = value.split('.')
            const bytes = Buffer.from(parts[3]!, 'base64url')
            bytes[at % bytes.length]! ^= 1 << (at % 8)
            mutated = `${parts.slice(0, 3).join('.')}.${bytes.toString('base64url')}`
          }
          if (mutated === value) return
          assert.equal(codec.decode(mutated).ok, false)
        }),
        { numRuns: 500 },
      )
      fc.assert(
        fc.property(fc.string({ maxLength: 200 }), (garbage) => {
          assert.equal(codec.decode(garbage).ok, false)
        }),
        { numRuns: 500 },
      )
    })
  })
})
