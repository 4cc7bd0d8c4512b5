import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { ConfigError, UnserializableValueError } from '../errors.js'
import type { CookieDecodeResult } from './cookie-codec.js'
import { createPyramidCodec } from './pyramid-codec.js'

const SECRET = 'a-pyramid-secret-that-is-long-enough-0123456789'
const NOW_MS = 1_700_000_000_000

/** Signs `json` the way webob's SignedSerializer does, from the spec, not from the codec. */
function pyramidCookie(json: string, key: Buffer, hash = 'sha512'): string {
  const payload = Buffer.from(json, 'utf8')
  const signature = createHmac(hash, key).update(payload).digest()
  return Buffer.concat([signature, payload]).toString('base64url')
}

function defaultKey(secret = SECRET): Buffer {
  return Buffer.from(`pyramid.session.${secret}`, 'latin1')
}

function body(result: CookieDecodeResult): unknown {
  assert.ok(result.ok, `expected a valid cookie, got ${result.ok ? '' : result.reason}`)
  return JSON.parse(result.payload.body)
}

describe('createPyramidCodec', () => {
  it('round-trips data, flash queues, the CSRF token and other library fields', () => {
    const codec = createPyramidCodec({ secret: SECRET })
    const payloadBody = JSON.stringify({
      d: { count: 3, nested: { list: [1, 'é', null] }, __proto__x: true },
      s: { csrf: 'a'.repeat(40), 'flash:': ['hi'], 'flash:error': ['bad'], owner: 'u1' },
    })
    const value = codec.encode({
      created: 1_700_000_000_250,
      lastActive: 1_700_000_100_999,
      body: payloadBody,
    })
    assert.match(value, /^[A-Za-z0-9_-]+$/)
    const result = codec.decode(value)
    assert.ok(result.ok)
    assert.equal(result.staleKey, false)
    assert.equal(result.payload.created, 1_700_000_000_250)
    assert.equal(
      result.payload.lastActive,
      1_700_000_100_000,
      'accessed is written in whole seconds',
    )
    assert.deepEqual(JSON.parse(result.payload.body), JSON.parse(payloadBody))
  })

  it('writes the Pyramid layout: [accessed seconds, created seconds, state] after the HMAC', () => {
    const codec = createPyramidCodec({ secret: SECRET })
    const value = codec.encode({
      created: 1_699_999_000_250,
      lastActive: 1_700_000_000_700,
      body: JSON.stringify({ d: { a: 1 }, s: { csrf: 'tok', 'flash:': ['hi'], owner: 'u1' } }),
    })
    const bytes = Buffer.from(value, 'base64url')
    const payload = bytes.subarray(64)
    assert.deepEqual(
      bytes.subarray(0, 64),
      createHmac('sha512', defaultKey()).update(payload).digest(),
    )
    assert.deepEqual(JSON.parse(payload.toString('utf8')), [
      1_700_000_000,
      1_699_999_000.25,
      { a: 1, _csrft_: 'tok', _f_: ['hi'], _cloakroom_owner: 'u1' },
    ])
  })

  it('reads a cookie signed independently per the spec, mapping Pyramid keys to library fields', () => {
    const codec = createPyramidCodec({ secret: SECRET })
    const json =
      '[1700000000, 1699999000.25, {"a": 1, "name": "Pe\\u00f1a \\u20ac", "_f_": ["hi"], ' +
      '"_f_error": ["bad"], "_csrft_": "0123456789abcdef0123456789abcdef01234567"}]'
    const result = codec.decode(pyramidCookie(json, defaultKey()))
    assert.ok(result.ok)
    assert.equal(result.payload.created, 1_699_999_000_250)
    assert.equal(result.payload.lastActive, 1_700_000_000_000)
    assert.deepEqual(body(result), {
      d: { a: 1, name: 'Peña €' },
      s: {
        'flash:': ['hi'],
        'flash:error': ['bad'],
        csrf: '0123456789abcdef0123456789abcdef01234567',
      },
    })
  })

  it('encodes a latin-1 secret as latin-1, and both salt and secret as UTF-8 above U+00FF', () => {
    const latin = 'Peña-secret-with-only-latin-1-characters-ñ'
    const wide = 'p€ña-secret-with-a-euro-sign-so-utf-8-is-used'
    const json = '[1700000000, 1700000000.5, {"k": "v"}]'
    assert.equal(
      createPyramidCodec({ secret: latin }).decode(
        pyramidCookie(
          json,
          Buffer.concat([Buffer.from('pyramid.session.'), Buffer.from(latin, 'latin1')]),
        ),
      ).ok,
      true,
      'latin-1 secret',
    )
    assert.equal(
      createPyramidCodec({ secret: latin }).decode(
        pyramidCookie(json, Buffer.from(`pyramid.session.${latin}`, 'utf8')),
      ).ok,
      false,
      'latin-1 secret must not be read as UTF-8',
    )
    assert.equal(
      createPyramidCodec({ secret: wide }).decode(
        pyramidCookie(json, Buffer.from(`pyramid.session.${wide}`, 'utf8')),
      ).ok,
      true,
      'UTF-8 secret',
    )
    assert.equal(
      createPyramidCodec({ secret: 'ñ'.repeat(32), salt: '€.' }).decode(
        pyramidCookie(json, Buffer.from(`€.${'ñ'.repeat(32)}`, 'utf8')),
      ).ok,
      true,
      'a wide salt makes the secret UTF-8 too',
    )
    const bytes = Buffer.alloc(40, 7)
    assert.equal(
      createPyramidCodec({ secret: bytes, salt: Buffer.from('f.') }).decode(
        pyramidCookie(json, Buffer.concat([Buffer.from('f.'), bytes])),
      ).ok,
      true,
      'bytes are used as given',
    )
  })

  it('honours salt and hashalg', () => {
    const json = '[1700000000, 1700000000.5, {}]'
    const key = Buffer.from(`custom.${SECRET}`, 'latin1')
    const codec = createPyramidCodec({ secret: SECRET, salt: 'custom.', hashalg: 'sha256' })
    assert.equal(codec.decode(pyramidCookie(json, key, 'sha256')).ok, true)
    assert.equal(
      createPyramidCodec({ secret: SECRET, hashalg: 'sha3_256' }).decode(
        pyramidCookie(json, defaultKey(), 'sha3-256'),
      ).ok,
      true,
    )
    assert.equal(
      createPyramidCodec({ secret: SECRET, hashalg: 'blake2b' }).decode(
        pyramidCookie(json, defaultKey(), 'blake2b512'),
      ).ok,
      true,
    )
  })

  it('accepts the standard base64 alphabet, padding and quotes, as Pyramid does', () => {
    const codec = createPyramidCodec({ secret: SECRET })
    // 3 + 64 bytes -> not a multiple of 3, so the padded form differs.
    const raw = Buffer.from(
      pyramidCookie('[1700000000, 1700000000.5, {"k": "\\u00ff\\u00fe"}]', defaultKey()),
      'base64url',
    )
    const standard = raw.toString('base64')
    assert.match(standard, /=$/)
    assert.equal(codec.decode(standard).ok, true, 'standard, padded')
    assert.equal(codec.decode(standard.replace(/=+$/, '')).ok, true, 'standard, unpadded')
    assert.equal(codec.decode(raw.toString('base64url') + '=').ok, true, 'url-safe, padded')
    assert.equal(codec.decode(`"${raw.toString('base64url')}"`).ok, true, 'quoted')
  })

  it('reads an accessed stamp truncated to the second before created as created', () => {
    const codec = createPyramidCodec({ secret: SECRET })
    const result = codec.decode(pyramidCookie('[1700000000, 1700000000.75, {}]', defaultKey()))
    assert.ok(result.ok)
    assert.equal(result.payload.lastActive, result.payload.created)
    // A created stamp at the very end of its second rounds up to a whole second past accessed.
    const late = codec.decode(pyramidCookie('[1700000000, 1700000000.9996, {}]', defaultKey()))
    assert.ok(late.ok)
    assert.equal(late.payload.lastActive, late.payload.created)
    const older = codec.decode(pyramidCookie('[1699999990, 1700000000.75, {}]', defaultKey()))
    assert.ok(older.ok)
    assert.equal(older.payload.lastActive, 1_699_999_990_000, 'left for the factory to refuse')
  })

  it('refuses tampered, truncated, garbage and foreign cookies without throwing', () => {
    const codec = createPyramidCodec({ secret: SECRET })
    const good = pyramidCookie('[1700000000, 1700000000.5, {"a": 1}]', defaultKey())
    const bytes = Buffer.from(good, 'base64url')
    for (let index = 0; index < bytes.length; index++) {
      const flipped = Buffer.from(bytes)
      flipped[index]! ^= 0x01
      const result = codec.decode(flipped.toString('base64url'))
      assert.deepEqual(result, { ok: false, reason: 'bad-signature' }, `bit flip at byte ${index}`)
    }
    const foreign = '[1700000000, 1700000000.5, {"a": "enough text to outgrow any digest"}]'
    const rows: [string, string, string][] = [
      ['empty', '', 'malformed'],
      ['signature only', bytes.subarray(0, 64).toString('base64url'), 'malformed'],
      [
        'truncated payload',
        bytes.subarray(0, bytes.length - 1).toString('base64url'),
        'bad-signature',
      ],
      ['impossible base64 length', good.slice(0, good.length - (good.length % 4) + 1), 'malformed'],
      ['garbage', 'not a cookie; at all', 'malformed'],
      ['a Cloakroom signed cookie', '1.abc.x.y.e30.mac', 'malformed'],
      ['too long', 'A'.repeat(70_000), 'malformed'],
      ['wrong secret', pyramidCookie(foreign, defaultKey(`${SECRET}x`)), 'bad-signature'],
      ['wrong salt', pyramidCookie(foreign, Buffer.from(`other.${SECRET}`)), 'bad-signature'],
      ['wrong hashalg', pyramidCookie(foreign, defaultKey(), 'sha384'), 'bad-signature'],
    ]
    for (const [label, value, reason] of rows) {
      assert.deepEqual(codec.decode(value), { ok: false, reason }, label)
    }
  })

  it('refuses authentic payloads that are not [number, number, object]', () => {
    const codec = createPyramidCodec({ secret: SECRET })
    const rows: [string, string][] = [
      ['not JSON (a pickle)', '\x80\x04\x95'],
      ['not UTF-8', '\xff'],
      ['an object', '{"a": 1}'],
      ['two elements', '[1700000000, 1700000000.5]'],
      ['four elements', '[1700000000, 1700000000.5, {}, 1]'],
      ['state is a list', '[1700000000, 1700000000.5, []]'],
      ['state is null', '[1700000000, 1700000000.5, null]'],
      ['state is a number', '[1700000000, 1700000000.5, 3]'],
      ['state is a string', '[1700000000, 1700000000.5, "ab"]'],
      ['NaN token', '[NaN, 1700000000.5, {}]'],
      ['Infinity token', '[1700000000, Infinity, {}]'],
      ['overflowing number', '[1e400, 1700000000.5, {}]'],
      ['string time', '["1700000000", 1700000000.5, {}]'],
      ['null time', '[1700000000, null, {}]'],
      ['csrf twice', '[1700000000, 1700000000.5, {"_csrft_": "a", "_cloakroom_csrf": "b"}]'],
      ['flash twice', '[1700000000, 1700000000.5, {"_cloakroom_flash:": ["x"]}]'],
    ]
    for (const [label, json] of rows) {
      const payload = Buffer.from(json, 'latin1')
      const value = Buffer.concat([
        createHmac('sha512', defaultKey()).update(payload).digest(),
        payload,
      ]).toString('base64url')
      assert.deepEqual(codec.decode(value), { ok: false, reason: 'malformed' }, label)
    }
  })

  it('never throws on arbitrary input, and round-trips arbitrary JSON data', () => {
    const codec = createPyramidCodec({ secret: SECRET })
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (value) => {
        assert.equal(codec.decode(value).ok, false)
      }),
      { numRuns: 300 },
    )
    const userKey = fc.string().filter((key) => !/^(_csrft_|_f_|_cloakroom_)/.test(key))
    fc.assert(
      fc.property(fc.dictionary(userKey, fc.jsonValue()), (data) => {
        const payloadBody = JSON.stringify({ d: data })
        const result = codec.decode(
          codec.encode({ created: NOW_MS, lastActive: NOW_MS, body: payloadBody }),
        )
        assert.ok(result.ok)
        assert.deepEqual(JSON.parse(result.payload.body), JSON.parse(payloadBody))
      }),
      { numRuns: 100 },
    )
  })

  it('refuses a cookie holding an integer JavaScript cannot hold exactly, rather than change it', () => {
    const codec = createPyramidCodec({ secret: SECRET })
    for (const id of ['1234567890123456789', '-9007199254740993']) {
      const result = codec.decode(
        pyramidCookie(`[1700000000, 1700000000.5, {"user_id": ${id}}]`, defaultKey()),
      )
      assert.deepEqual(result, { ok: false, reason: 'malformed' }, id)
    }
    // Integers JavaScript writes back as they are (the largest safe one, -2^53, a double past
    // 2^53 as JavaScript prints it), floats, and digits inside strings are fine.
    const json =
      '{"a": 9007199254740991, "b": -9007199254740992, "c": 123456789012345680000, "d": 1e+30, "e": "12345678901234567890"}'
    const fine = codec.decode(pyramidCookie(`[1700000000, 1700000000.5, ${json}]`, defaultKey()))
    assert.deepEqual(body(fine), { d: JSON.parse(json) as unknown })
  })

  it('keeps a "__proto__" key as data', () => {
    const codec = createPyramidCodec({ secret: SECRET })
    const result = codec.decode(
      pyramidCookie('[1700000000, 1700000000.5, {"__proto__": {"x": 1}}]', defaultKey()),
    )
    const decoded = body(result) as { d: Record<string, unknown> }
    assert.deepEqual(Object.keys(decoded.d), ['__proto__'])
    assert.equal(({} as Record<string, unknown>).x, undefined)
  })

  it('refuses to write user keys that Pyramid reserves', () => {
    const codec = createPyramidCodec({ secret: SECRET })
    for (const key of ['_csrft_', '_f_', '_f_error', '_cloakroom_owner']) {
      assert.throws(
        () =>
          codec.encode({ created: 1, lastActive: 1, body: JSON.stringify({ d: { [key]: 1 } }) }),
        (error: unknown) =>
          error instanceof UnserializableValueError &&
          error.code === 'ERR_UNSERIALIZABLE_VALUE' &&
          error.key === key,
        key,
      )
    }
  })

  it('refuses short secrets, unknown hash algorithms and MD5 at construction', () => {
    const rows: [string, () => unknown, string][] = [
      ['short secret', () => createPyramidCodec({ secret: 'seekrit' }), 'secret'],
      ['31 bytes', () => createPyramidCodec({ secret: 'x'.repeat(31) }), 'secret'],
      ['short bytes', () => createPyramidCodec({ secret: new Uint8Array(16) }), 'secret'],
      ['not a secret', () => createPyramidCodec({ secret: 42 as unknown as string }), 'secret'],
      [
        'bad salt',
        () => createPyramidCodec({ secret: SECRET, salt: 1 as unknown as string }),
        'salt',
      ],
      [
        'unknown hashalg',
        () => createPyramidCodec({ secret: SECRET, hashalg: 'sha513' }),
        'hashalg',
      ],
      ['md5', () => createPyramidCodec({ secret: SECRET, hashalg: 'md5' }), 'hashalg'],
    ]
    for (const [label, create, option] of rows) {
      assert.throws(
        create,
        (error: unknown) =>
          error instanceof ConfigError &&
          error.code === 'ERR_INVALID_OPTION' &&
          error.option === option,
        label,
      )
    }
    assert.throws(
      () => createPyramidCodec({ secret: 'short' }),
      /at least 32 .*Pyramid accepts shorter secrets/,
    )
    assert.doesNotThrow(() => createPyramidCodec({ secret: 'x'.repeat(32), hashalg: 'SHA3-256' }))
  })
})
