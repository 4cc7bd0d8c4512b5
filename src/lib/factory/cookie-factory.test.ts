import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { InvalidCookieReason } from '../codec/cookie-codec.js'
import { CookieTooLargeError } from '../errors.js'
import type { Session } from '../session/session.js'
import { MAX_TOTAL_COOKIE_BYTES } from './cookie-factory.js'
import { createEncryptedCookieFactory } from './encrypted-cookie-factory.js'
import type { SessionFactory } from './session-factory.js'
import { createSignedCookieFactory } from './signed-cookie-factory.js'

const SECRET = 'z'.repeat(32)
type Data = { blob?: string; user?: string }

/** A browser's cookie jar for one site, enough for these tests. */
class Jar {
  readonly cookies = new Map<string, string>()
  apply(headers: readonly string[]): void {
    for (const header of headers) {
      const pair = header.slice(0, header.indexOf(';'))
      const name = pair.slice(0, pair.indexOf('='))
      if (/Max-Age=0/.test(header)) this.cookies.delete(name)
      else this.cookies.set(name, pair.slice(name.length + 1))
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }
  names(): string[] {
    return [...this.cookies.keys()].sort()
  }
}

function setup(
  kind: 'signed' | 'encrypted',
  options: { overflow?: 'throw' | 'split'; maxTotalCookieBytes?: number } = {},
) {
  const reasons: InvalidCookieReason[] = []
  const common = {
    secrets: SECRET,
    overflow: options.overflow ?? ('split' as const),
    onInvalidCookie: (reason: InvalidCookieReason) => reasons.push(reason),
    ...(options.maxTotalCookieBytes === undefined
      ? {}
      : { maxTotalCookieBytes: options.maxTotalCookieBytes }),
  }
  const factory: SessionFactory<Data> =
    kind === 'signed'
      ? createSignedCookieFactory<Data>(common)
      : createEncryptedCookieFactory<Data>(common)
  const jar = new Jar()
  const request = (
    handler: (session: Session<Data>) => void,
    cookieHeader = jar.header(),
  ): readonly string[] => {
    const session = factory.load(cookieHeader) as Session<Data>
    handler(session)
    const headers = factory.commit(session) as readonly string[]
    jar.apply(headers)
    return headers
  }
  return { factory, jar, reasons, request }
}

describe('createCookieSessionFactory (overflow: split)', () => {
  it('spreads a large session over session.0..N, each within maxCookieBytes, and reads it back', () => {
    for (const kind of ['signed', 'encrypted'] as const) {
      const { jar, request, reasons } = setup(kind)
      const blob = 'b'.repeat(9000)
      const headers = request((s) => s.set('blob', blob))
      assert.deepEqual(jar.names(), ['session.0', 'session.1', 'session.2'], kind)
      for (const header of headers)
        assert.ok(Buffer.byteLength(header) <= 4096, `${kind}: ${header.length}`)
      assert.match(
        jar.cookies.get('session.0')!,
        /^3~/,
        `${kind}: the first chunk carries the count`,
      )
      request((s) => {
        assert.equal(s.isNew, false, kind)
        assert.equal(s.get('blob'), blob, kind)
      })
      assert.deepEqual(reasons, [], kind)
    }
  })

  it('keeps a session that fits in one cookie named after cookieName', () => {
    const { jar, request } = setup('encrypted')
    request((s) => s.set('user', 'ann'))
    assert.deepEqual(jar.names(), ['session'])
  })

  it('deletes stale chunks when the session shrinks, and the other form when it changes shape', () => {
    const { jar, request } = setup('encrypted')
    request((s) => s.set('user', 'ann'))
    // Growing: the whole-value cookie is deleted along with writing the chunks.
    let headers = request((s) => s.set('blob', 'b'.repeat(9000)))
    assert.ok(headers.some((header) => /^session=; Max-Age=0/.test(header)))
    assert.deepEqual(jar.names(), ['session.0', 'session.1', 'session.2'])
    // Shrinking to two chunks deletes session.2 only.
    headers = request((s) => s.set('blob', 'b'.repeat(5000)))
    assert.deepEqual(
      headers
        .filter((header) => header.includes('Max-Age=0'))
        .map((header) => header.split('=')[0]),
      ['session.2'],
    )
    assert.deepEqual(jar.names(), ['session.0', 'session.1'])
    // Shrinking to one cookie deletes every chunk.
    request((s) => s.set('blob', 'small'))
    assert.deepEqual(jar.names(), ['session'])
    request((s) => assert.equal(s.get('blob'), 'small'))
  })

  it('deletes every chunk on invalidate()', () => {
    const { jar, request } = setup('signed')
    request((s) => s.set('blob', 'b'.repeat(5000)))
    assert.equal(jar.names().length, 2)
    request((s) => s.invalidate())
    assert.deepEqual(jar.names(), [])
  })

  it('refuses a session beyond maxTotalCookieBytes with CookieTooLargeError', () => {
    const { request } = setup('encrypted')
    assert.throws(
      () => request((s) => s.set('blob', 'b'.repeat(MAX_TOTAL_COOKIE_BYTES))),
      (error: unknown) =>
        error instanceof CookieTooLargeError &&
        error.code === 'ERR_COOKIE_TOO_LARGE' &&
        error.limit === MAX_TOTAL_COOKIE_BYTES &&
        error.size > MAX_TOTAL_COOKIE_BYTES &&
        /maxTotalCookieBytes/.test(error.message),
    )
    const larger = setup('encrypted', { maxTotalCookieBytes: 20_000 })
    larger.request((s) => s.set('blob', 'b'.repeat(MAX_TOTAL_COOKIE_BYTES)))
    assert.equal(larger.jar.names().length, 5)
  })

  it('holds a session that fits in one cookie to a maxTotalCookieBytes below maxCookieBytes', () => {
    for (const kind of ['signed', 'encrypted'] as const) {
      const { jar, request, reasons } = setup(kind, { maxTotalCookieBytes: 2048 })
      request((s) => s.set('blob', 'b'.repeat(1000)))
      assert.deepEqual(jar.names(), ['session'], kind)
      let read: string | undefined
      request((s) => (read = s.get('blob')))
      assert.equal(read, 'b'.repeat(1000), `${kind}: read back`)
      assert.throws(
        () => request((s) => s.set('blob', 'b'.repeat(2500))),
        (error: unknown) => error instanceof CookieTooLargeError && error.limit === 2048,
        `${kind}: a whole cookie over the budget, refused at write rather than at the next read`,
      )
      assert.deepEqual(reasons, [], kind)
    }
  })

  it('gives a fresh session for missing, reordered or changed chunks, and ignores leftovers past the count', () => {
    const { jar, request, reasons } = setup('encrypted')
    request((s) => s.set('blob', 'b'.repeat(9000)))
    const chunk = (name: string): string => jar.cookies.get(name)!
    const [c0, c1, c2] = [chunk('session.0'), chunk('session.1'), chunk('session.2')]
    const cases: [string, string, InvalidCookieReason][] = [
      ['missing middle chunk', `session.0=${c0}; session.2=${c2}`, 'malformed'],
      ['missing first chunk', `session.1=${c1}; session.2=${c2}`, 'malformed'],
      ['swapped chunks', `session.0=${c0}; session.1=${c2}; session.2=${c1}`, 'bad-signature'],
      [
        'changed count',
        `session.0=2${c0.slice(1)}; session.1=${c1}; session.2=${c2}`,
        'bad-signature',
      ],
      [
        'changed chunk',
        `session.0=${c0}; session.1=${c1.slice(0, -1)}${c1.endsWith('A') ? 'B' : 'A'}; session.2=${c2}`,
        'bad-signature',
      ],
    ]
    for (const [label, header, reason] of cases) {
      reasons.length = 0
      request((s) => assert.equal(s.isNew, true, label), header)
      assert.deepEqual(reasons, [reason], label)
    }
    reasons.length = 0
    request(
      (s) => assert.equal(s.isNew, false, 'quoted chunks are read'),
      `session.0="${c0}"; session.1="${c1}"; session.2="${c2}"`,
    )
    request(
      (s) => assert.equal(s.isNew, false),
      `session.0=${c0}; session.1=${c1}; session.2=${c2}; session.3=stale`,
    )
    assert.deepEqual(reasons, [])
  })

  it("does not read chunks with overflow: 'throw'", () => {
    const split = setup('signed')
    split.request((s) => s.set('blob', 'b'.repeat(6000)))
    const strict = setup('signed', { overflow: 'throw' })
    strict.request((s) => assert.equal(s.isNew, true), split.jar.header())
    assert.deepEqual(strict.reasons, [])
  })
})
