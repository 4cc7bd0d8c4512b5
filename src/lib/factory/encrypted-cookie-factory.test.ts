import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { InvalidCookieReason } from '../codec/cookie-codec.js'
import { CookieTooLargeError } from '../errors.js'
import type { Session } from '../session/session.js'
import {
  createEncryptedCookieFactory,
  type EncryptedCookieFactoryOptions,
} from './encrypted-cookie-factory.js'

const SECRET = 'c'.repeat(32)
const START = 1_800_000_000_000

interface Data {
  user?: string
  cart?: { items: string[] }
  blob?: string
  when?: Date
}

function setup(options: Partial<EncryptedCookieFactoryOptions> = {}) {
  const clock = { now: START }
  const reasons: InvalidCookieReason[] = []
  const factory = createEncryptedCookieFactory<Data>({
    secrets: SECRET,
    now: () => clock.now,
    onInvalidCookie: (reason) => reasons.push(reason),
    ...options,
  })
  /** One request: load with `cookie`, run `handler`, commit; returns the Set-Cookie values. */
  const request = (
    cookie: string | undefined,
    handler: (session: Session<Data>) => void,
    failed = false,
  ): readonly string[] => {
    const session = factory.load(
      cookie === undefined ? undefined : `session=${cookie}`,
    ) as Session<Data>
    handler(session)
    return factory.commit(session, { failed }) as readonly string[]
  }
  return { factory, clock, reasons, request }
}

const valueOf = (header: string | undefined): string => {
  assert.ok(header !== undefined, 'expected a Set-Cookie header')
  const match = /^session=([^;]*)/.exec(header)
  assert.ok(match)
  return match[1]!
}

describe('createEncryptedCookieFactory', () => {
  it('validates options at construction; a short secret error says how to make one', () => {
    const bad: [Partial<EncryptedCookieFactoryOptions>, RegExp][] = [
      [{ secrets: 'short' }, /at least 32.*npx cloakroom keygen/],
      [{ secrets: [] }, /secrets.*keygen/],
      [{ secrets: [{ id: 'a b', secret: SECRET }] }, /secrets\[0\]\.id/],
      [{ secrets: [SECRET, SECRET] }, /used twice/],
      [{ overflow: 'truncate' as 'split' }, /overflow/],
      [{ maxTotalCookieBytes: 100 }, /maxTotalCookieBytes/],
      [{ maxCookieBytes: 10 }, /maxCookieBytes/],
      [{ sameSite: 'none', secure: false }, /SameSite=None/],
      [{ cookieName: 'n'.repeat(1000) }, /cookieName.*1 to 256/],
    ]
    for (const [options, message] of bad) {
      assert.throws(
        () => createEncryptedCookieFactory({ secrets: SECRET, ...options }),
        { name: 'ConfigError', code: 'ERR_INVALID_OPTION', message },
        JSON.stringify(options),
      )
    }
  })

  it('round-trips a session in a cookie whose content cannot be read', () => {
    const { request } = setup()
    const [header] = request(undefined, (s) => {
      s.set('user', 'ann')
      s.set('when', new Date(START))
    })
    assert.match(
      header!,
      /^session=e1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    )
    const value = valueOf(header)
    assert.ok(!/ann|"d"|eyJ/.test(value), 'no plaintext or base64 JSON in the cookie')
    const cookies = request(value, (s) => {
      assert.equal(s.isNew, false)
      assert.equal(s.get('user'), 'ann')
      assert.deepEqual(s.get('when'), new Date(START))
      assert.equal(s.created, START)
    })
    assert.deepEqual(cookies, [], 'reading alone writes nothing before reissueTime')
  })

  it('applies the idle and absolute timeouts from the times inside the ciphertext', () => {
    const { request, clock, reasons } = setup({
      timeout: 60,
      absoluteTimeout: 300,
      reissueTime: null,
    })
    let value = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
    clock.now += 60_000
    value = valueOf(request(value, (s) => s.set('user', 'bob'))[0])
    clock.now += 60_001
    request(value, (s) => assert.equal(s.isNew, true))
    assert.deepEqual(reasons, ['expired'])
    reasons.length = 0
    clock.now = START
    value = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
    for (let minute = 1; minute <= 5; minute++) {
      clock.now = START + minute * 60_000
      value = valueOf(request(value, (s) => s.set('user', `u${minute}`))[0])
    }
    clock.now = START + 300_001
    request(value, (s) => assert.equal(s.isNew, true))
    assert.deepEqual(reasons, ['expired'])
  })

  it('re-issues a read session after reissueTime, keeping created', () => {
    const { request, clock } = setup({ timeout: 600, reissueTime: 60 })
    const value = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
    clock.now += 60_000
    assert.deepEqual(
      request(value, (s) => s.get('user')),
      [],
    )
    clock.now += 1
    const reissued = valueOf(request(value, (s) => s.get('user'))[0])
    assert.notEqual(reissued, value)
    clock.now += 1
    request(reissued, (s) => assert.equal(s.created, START))
  })

  it('saves a failed request only with setOnException', () => {
    assert.equal(setup().request(undefined, (s) => s.set('user', 'ann'), true).length, 1)
    const { request } = setup({ setOnException: false })
    assert.deepEqual(
      request(undefined, (s) => s.set('user', 'ann'), true),
      [],
    )
  })

  it('throws CookieTooLargeError at commit by default, and splits with overflow: split', () => {
    assert.throws(
      () => setup().request(undefined, (s) => s.set('blob', 'x'.repeat(4000))),
      (error: unknown) =>
        error instanceof CookieTooLargeError &&
        error.code === 'ERR_COOKIE_TOO_LARGE' &&
        error.limit === 4096,
    )
    const { request } = setup({ overflow: 'split' })
    const headers = request(undefined, (s) => s.set('blob', 'x'.repeat(4000)))
    assert.deepEqual(
      headers.map((header) => header.slice(0, header.indexOf('='))),
      ['session.0', 'session.1'],
    )
  })

  it('deletes the cookie on invalidate()', () => {
    const { request } = setup()
    const value = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
    const [header] = request(value, (s) => s.invalidate())
    assert.match(header!, /^session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\//)
  })

  it('gives a fresh session and one onInvalidCookie reason for any bad value, never an exception', () => {
    const { request, reasons } = setup()
    const good = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
    const [version, keyId, iv, sealed] = good.split('.') as [string, string, string, string]
    const otherIv = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0]).split('.')[2]!
    const cases: [string, string, InvalidCookieReason][] = [
      ['garbage', 'garbage', 'malformed'],
      [
        'wrong key',
        valueOf(
          setup({ secrets: [{ id: keyId, secret: 'w'.repeat(32) }] }).request(undefined, (s) =>
            s.set('user', 'eve'),
          )[0],
        ),
        'bad-signature',
      ],
      [
        'bit flip',
        `${version}.${keyId}.${iv}.${sealed.slice(0, 5)}${sealed[5] === 'A' ? 'B' : 'A'}${sealed.slice(6)}`,
        'bad-signature',
      ],
      ['truncated tag', good.slice(0, -4), 'bad-signature'],
      ['swapped IV', `${version}.${keyId}.${otherIv}.${sealed}`, 'bad-signature'],
      ['other version', `e9.${keyId}.${iv}.${sealed}`, 'unsupported-version'],
      ['unknown key id', `${version}.nokey.${iv}.${sealed}`, 'unknown-key'],
    ]
    for (const [label, value, reason] of cases) {
      reasons.length = 0
      const cookies = request(value, (s) => {
        assert.equal(s.isNew, true, label)
        assert.equal(s.size, 0, label)
      })
      assert.deepEqual(cookies, [], label)
      assert.deepEqual(reasons, [reason], label)
    }
  })
})
