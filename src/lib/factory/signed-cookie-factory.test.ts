import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createKeyring } from '../codec/keyring.js'
import { createSignedCodec } from '../codec/signed-codec.js'
import { CookieTooLargeError, UnserializableValueError } from '../errors.js'
import type { InvalidCookieReason } from '../codec/cookie-codec.js'
import type { Session } from '../session/session.js'
import {
  createSignedCookieFactory,
  type SignedCookieFactoryOptions,
} from './signed-cookie-factory.js'

const SECRET = 's'.repeat(32)
const OLD_SECRET = 'o'.repeat(32)

interface Data {
  user?: string
  cart?: { items: string[] }
  blob?: string
  when?: Date
}

function setup(options: Partial<SignedCookieFactoryOptions> = {}) {
  const clock = { now: 1_800_000_000_000 }
  const reasons: InvalidCookieReason[] = []
  const factory = createSignedCookieFactory<Data>({
    secrets: SECRET,
    now: () => clock.now,
    onInvalidCookie: (reason) => reasons.push(reason),
    ...options,
  })
  /** Runs one request: load with `cookie`, apply `handler`, commit; returns the Set-Cookie values. */
  const request = (
    cookie: string | undefined,
    handler: (session: Session<Data>) => void,
    failed = false,
  ) => {
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

describe('createSignedCookieFactory', () => {
  describe('options', () => {
    it('validates options once, at construction, with typed errors', () => {
      const bad: [Partial<SignedCookieFactoryOptions>, RegExp][] = [
        [{ secrets: undefined as unknown as string }, /secrets/],
        [{ secrets: 'too short' }, /secrets.*32/],
        [{ sameSite: 'sideways' as 'lax' }, /sameSite/],
        [{ sameSite: 'none', secure: false }, /SameSite=None without Secure/],
        [{ cookieName: 'a;b' }, /cookieName/],
        [{ cookieName: 'a b' }, /cookieName/],
        [{ cookieName: '' }, /cookieName/],
        [{ cookieName: 'n'.repeat(257) }, /cookieName.*1 to 256/],
        [{ path: '/x; Domain=evil.com' }, /path/],
        [{ path: 'relative' }, /path/],
        [{ domain: 'example.com; HttpOnly' }, /domain/],
        [{ cookieName: '__Host-s', secure: false }, /__Host-/],
        [{ cookieName: '__Host-s', domain: 'example.com' }, /__Host-/],
        [{ cookieName: '__Host-s', path: '/app' }, /__Host-/],
        [{ cookieName: '__Secure-s', secure: false }, /__Secure-/],
        [{ timeout: -1 }, /timeout/],
        [{ maxAge: 1.5 }, /maxAge/],
        [{ maxAge: 0 }, /maxAge.*browser-session/],
        [{ maxAge: 400 * 86_400 + 1 }, /maxAge.*400 days/],
        [{ maxAge: 1e20 }, /maxAge/],
        [{ timeout: 0 }, /timeout.*null/],
        [{ timeout: 100, reissueTime: 100 }, /reissueTime/],
        [{ reissueTime: 1200 }, /reissueTime/],
        [{ cookieName: '__host-s', secure: false }, /__Host-/],
        [{ cookieName: '__SECURE-s', secure: false }, /__Secure-/],
        [{ domain: '..' }, /domain/],
        [{ domain: 'a..b' }, /domain/],
        [{ maxCookieBytes: 10 }, /maxCookieBytes/],
        [{ secure: 'yes' as unknown as boolean }, /secure/],
      ]
      for (const [options, message] of bad) {
        assert.throws(
          () => createSignedCookieFactory({ secrets: SECRET, ...options }),
          { name: 'ConfigError', code: 'ERR_INVALID_OPTION', message },
          JSON.stringify(options),
        )
      }
    })

    it('accepts the edges of those rules', () => {
      for (const options of [
        { maxAge: 1 },
        { maxAge: 400 * 86_400 },
        { timeout: 100, reissueTime: 99 },
        { timeout: null, reissueTime: 5000 },
        { reissueTime: 0 },
        { domain: '.example.com' },
        { cookieName: 'n'.repeat(256) },
      ]) {
        assert.doesNotThrow(() => createSignedCookieFactory({ secrets: SECRET, ...options }))
      }
    })

    it('writes secure defaults: Path=/, HttpOnly, Secure, SameSite=Lax, no Domain, no Max-Age', () => {
      const { request } = setup()
      const [header] = request(undefined, (s) => s.set('user', 'ann'))
      assert.match(header!, /^session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
    })

    it('honours cookie options, __Host- names and maxAge (with Expires)', () => {
      const { request, clock } = setup({
        cookieName: '__Host-id',
        sameSite: 'Strict',
        maxAge: 3600,
      })
      const [header] = request(undefined, (s) => s.set('user', 'ann'))
      assert.match(
        header!,
        /^__Host-id=[^;]+; Max-Age=3600; Expires=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
      )
      assert.ok(header!.includes(new Date(clock.now + 3_600_000).toUTCString()))
    })

    it('leaves out HttpOnly and Secure when they are turned off, and writes Domain and Path', () => {
      const { request } = setup({
        httpOnly: false,
        secure: false,
        domain: 'example.com',
        path: '/app',
      })
      const [header] = request(undefined, (s) => s.set('user', 'ann'))
      assert.match(header!, /^session=[^;]+; Domain=example\.com; Path=\/app; SameSite=Lax$/)
      const [deletion] = request(valueOf(header), (s) => s.invalidate())
      assert.match(
        deletion!,
        /^session=; Max-Age=0; Expires=[^;]+; Domain=example\.com; Path=\/app; SameSite=Lax$/,
      )
    })
  })

  describe('load and commit', () => {
    it('gives a fresh session and no cookie for an untouched or read-only new session', () => {
      const { request } = setup()
      assert.deepEqual(
        request(undefined, () => {}),
        [],
      )
      assert.deepEqual(
        request(undefined, (s) => {
          assert.equal(s.isNew, true)
          s.get('user')
        }),
        [],
      )
    })

    it('round-trips data, created and isNew through the cookie, Dates included', () => {
      const { request, clock } = setup()
      const created = clock.now
      const when = new Date('2026-01-02T03:04:05.006Z')
      const [header] = request(undefined, (s) => {
        s.set('user', 'ann')
        s.set('when', when)
      })
      clock.now += 1000
      request(valueOf(header), (s) => {
        assert.equal(s.isNew, false)
        assert.equal(s.created, created)
        assert.equal(s.get('user'), 'ann')
        assert.ok(s.get('when') instanceof Date)
        assert.equal(s.get('when')!.getTime(), when.getTime())
      })
    })

    it('writes no cookie when a request changes nothing, and one when it changes data', () => {
      const { request } = setup()
      const cookie = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
      assert.deepEqual(
        request(cookie, (s) => s.get('user')),
        [],
      )
      assert.deepEqual(
        request(cookie, (s) => s.set('user', 'ann')),
        [],
        'same value is no change',
      )
      assert.equal(request(cookie, (s) => s.set('user', 'bob')).length, 1)
    })

    it('writes no cookie for changes a request undoes itself', () => {
      const { request } = setup()
      const cookie = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
      const undone: [string, (s: Session<Data>) => void][] = [
        [
          'a key set, then deleted',
          (s) => {
            s.set('blob', 'x')
            s.delete('blob')
          },
        ],
        [
          'a key set, then popped',
          (s) => {
            s.set('blob', 'x')
            s.pop('blob')
          },
        ],
        [
          'a flash message shown on the same page',
          (s) => {
            s.flash('saved')
            s.popFlash()
          },
        ],
        [
          'a loaded key deleted, then set to its value',
          (s) => {
            s.delete('user')
            s.set('user', 'ann')
          },
        ],
      ]
      for (const [name, handler] of undone) assert.deepEqual(request(cookie, handler), [], name)
      const next = valueOf(
        request(cookie, (s) => {
          s.delete('user')
          s.set('user', 'bob')
        })[0],
      )
      request(next, (s) => assert.equal(s.get('user'), 'bob'))
      const emptied = valueOf(
        request(cookie, (s) => {
          s.set('blob', 'x')
          s.delete('user')
        })[0],
      )
      request(emptied, (s) => assert.deepEqual(s.toJSON(), { blob: 'x' }))
    })

    it('saves nested mutation without changed(), and changed() still forces a write', () => {
      const { request } = setup()
      const cookie = valueOf(request(undefined, (s) => s.set('cart', { items: [] }))[0])
      const next = valueOf(request(cookie, (s) => s.get('cart')!.items.push('apple'))[0])
      request(next, (s) => assert.deepEqual(s.get('cart'), { items: ['apple'] }))
      assert.equal(request(cookie, (s) => s.changed()).length, 1)
    })

    it('refuses a value changed in place into something unstorable, before the response', () => {
      const { request } = setup()
      const cookie = valueOf(request(undefined, (s) => s.set('cart', { items: [] }))[0])
      assert.throws(
        () => request(cookie, (s) => (s.get('cart')!.items as unknown[]).push(new Map())),
        (error) => error instanceof UnserializableValueError && error.path === 'cart.items[0]',
      )
    })

    it('deletes the cookie on invalidate(), with the same Path and attributes', () => {
      const { request } = setup({ path: '/app', domain: 'example.com' })
      const cookie = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
      const [header] = request(cookie, (s) => s.invalidate())
      assert.equal(
        header,
        'session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Domain=example.com; Path=/app; HttpOnly; Secure; SameSite=Lax',
      )
    })

    it('writes a fresh session when data is set after invalidate()', () => {
      const { request, clock } = setup()
      const cookie = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
      clock.now += 5000
      const fresh = valueOf(
        request(cookie, (s) => {
          s.invalidate()
          s.set('cart', { items: ['x'] })
        })[0],
      )
      request(fresh, (s) => {
        assert.equal(s.has('user'), false)
        assert.deepEqual(s.get('cart'), { items: ['x'] })
        assert.equal(s.created, clock.now)
      })
    })

    it('deletes the cookie when the last key is removed', () => {
      const { request } = setup()
      const cookie = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
      assert.match(request(cookie, (s) => s.delete('user'))[0]!, /^session=; Max-Age=0/)
    })

    it('saves on a failed request only with setOnException', () => {
      assert.equal(setup().request(undefined, (s) => s.set('user', 'ann'), true).length, 1)
      assert.deepEqual(
        setup({ setOnException: false }).request(undefined, (s) => s.set('user', 'a'), true),
        [],
      )
    })

    it('throws CookieTooLargeError, counting the whole header, before the response', () => {
      const { request } = setup()
      assert.throws(
        () => request(undefined, (s) => s.set('blob', 'x'.repeat(4000))),
        (error) =>
          error instanceof CookieTooLargeError &&
          error.limit === 4096 &&
          error.size > 4096 &&
          /server-side store/.test(error.message),
      )
      const header = setup({ maxCookieBytes: 8192 }).request(undefined, (s) =>
        s.set('blob', 'x'.repeat(4000)),
      )[0]!
      assert.ok(header.length > 4096 && header.length <= 8192)
    })

    it('locks the session after commit so late writes fail loudly', () => {
      const { factory } = setup()
      const session = factory.load(undefined) as Session<Data>
      session.get('user')
      void factory.commit(session)
      assert.throws(() => session.set('user', 'late'), { code: 'ERR_SESSION_COMMITTED' })
    })
  })

  describe('bad cookies', () => {
    it('gives a fresh session and one onInvalidCookie reason, never an exception', () => {
      const { request, reasons } = setup()
      const good = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
      const cases: [string, InvalidCookieReason][] = [
        ['garbage', 'malformed'],
        ['', 'malformed'],
        [good.slice(0, -3), 'malformed'],
        [`${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`, 'bad-signature'],
        [`9${good.slice(1)}`, 'unsupported-version'],
        [good.replace(/^1\.[^.]+/, '1.unknown1'), 'unknown-key'],
      ]
      for (const [value, reason] of cases) {
        reasons.length = 0
        const cookies = request(value, (s) => {
          assert.equal(s.isNew, true, value)
          assert.equal(s.size, 0)
        })
        assert.deepEqual(cookies, [])
        assert.deepEqual(reasons, value === '' ? [] : [reason], value)
      }
    })

    it('reads the cookie only when the session is used, and ignores names that merely contain ours', () => {
      const { factory, reasons } = setup()
      const untouched = factory.load('session=garbage') as Session<Data>
      assert.deepEqual(factory.commit(untouched), [])
      assert.deepEqual(reasons, [], 'an untouched session never parses its cookie')
      const similar = factory.load('my_session=x; session_id=y') as Session<Data>
      assert.equal(similar.isNew, true)
      assert.deepEqual(reasons, [], 'no session cookie came, so none was refused')
      assert.equal((factory.load('session=garbage') as Session<Data>).isNew, true)
      assert.deepEqual(reasons, ['malformed'])
    })

    it('refuses a validly signed value whose content is not a session object', async () => {
      const { createSignedCodec } = await import('../codec/signed-codec.js')
      const { createKeyring } = await import('../codec/keyring.js')
      const codec = createSignedCodec({ keyring: createKeyring(SECRET, 'signed-cookie/session') })
      const { request, reasons, clock } = setup()
      for (const body of [
        '[1,2]',
        '"text"',
        'null',
        '{"d":[1]}',
        '{"d":{},"s":3}',
        'not json',
        '{}',
      ]) {
        reasons.length = 0
        const value = codec.encode({ created: clock.now, lastActive: clock.now, body })
        request(value, (s) => assert.equal(s.isNew, true, body))
        assert.deepEqual(reasons, ['malformed'], body)
      }
    })
  })

  describe('timeouts', () => {
    it('ends a session idle for more than timeout, at the exact boundary', () => {
      const { request, clock, reasons } = setup({ timeout: 60, reissueTime: null })
      const cookie = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
      const written = clock.now
      clock.now = written + 60_000
      request(cookie, (s) => assert.equal(s.get('user'), 'ann', 'valid at exactly timeout'))
      clock.now = written + 60_001
      request(cookie, (s) => assert.equal(s.isNew, true, 'expired 1 ms later'))
      assert.deepEqual(reasons, ['expired'])
    })

    it('ends a session older than absoluteTimeout however active, and re-issue never moves it', () => {
      const { request, clock } = setup({ timeout: 60, reissueTime: 0, absoluteTimeout: 300 })
      const created = clock.now
      let cookie = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
      while (clock.now + 50_000 <= created + 300_000) {
        clock.now += 50_000
        cookie = valueOf(request(cookie, (s) => assert.equal(s.created, created))[0])
      }
      clock.now = created + 300_000
      request(cookie, (s) => assert.equal(s.isNew, false, 'valid at exactly absoluteTimeout'))
      clock.now = created + 300_001
      request(cookie, (s) => assert.equal(s.isNew, true, 'ended 1 ms later'))
    })

    it('re-issues a read session only once reissueTime has passed', () => {
      const { request, clock } = setup({ timeout: 100, reissueTime: 10 })
      const cookie = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
      const written = clock.now
      clock.now = written + 10_000
      assert.deepEqual(
        request(cookie, (s) => s.get('user')),
        [],
        'not at exactly reissueTime',
      )
      clock.now = written + 10_001
      const reissued = valueOf(request(cookie, (s) => s.get('user'))[0])
      assert.notEqual(reissued, cookie)
      assert.deepEqual(
        request(cookie, () => {}),
        [],
        'an untouched session is never re-issued',
      )
      // The re-issued cookie extends the idle timeout from the re-issue.
      clock.now = written + 10_001 + 100_000
      request(reissued, (s) => assert.equal(s.get('user'), 'ann'))
    })

    it('defaults reissueTime to timeout/10, re-issues every read at 0 and never at null', () => {
      const defaults = setup({ timeout: 100 })
      const cookie = valueOf(defaults.request(undefined, (s) => s.set('user', 'ann'))[0])
      defaults.clock.now += 10_000
      assert.deepEqual(
        defaults.request(cookie, (s) => s.get('user')),
        [],
      )
      defaults.clock.now += 1
      assert.equal(defaults.request(cookie, (s) => s.get('user')).length, 1)

      const always = setup({ reissueTime: 0 })
      const value = valueOf(always.request(undefined, (s) => s.set('user', 'ann'))[0])
      assert.equal(always.request(value, (s) => s.get('user')).length, 1)

      const never = setup({ reissueTime: null, timeout: 100 })
      const kept = valueOf(never.request(undefined, (s) => s.set('user', 'ann'))[0])
      never.clock.now += 99_000
      assert.deepEqual(
        never.request(kept, (s) => s.get('user')),
        [],
      )
    })

    it('disables the idle timeout with null', () => {
      const { request, clock } = setup({ timeout: null, absoluteTimeout: null })
      const cookie = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
      clock.now += 365 * 86_400_000
      request(cookie, (s) => assert.equal(s.get('user'), 'ann'))
    })

    it('gives a fresh session even when onInvalidCookie throws, and reports it as a warning', async () => {
      const warned = new Promise<Error>((resolve) => process.once('warning', resolve))
      const { request } = setup({
        onInvalidCookie: () => {
          throw new Error('logger down')
        },
      })
      request('garbage', (s) => assert.equal(s.isNew, true))
      const warning = (await warned) as Error & { code?: string }
      assert.equal(warning.code, 'CLOAKROOM_HOOK_ERROR')
      assert.match(warning.message, /onInvalidCookie threw \(Error: logger down\)/)
    })

    it('refuses a cookie from the future: clock skew over a minute, to the millisecond', () => {
      const { request, clock, reasons } = setup()
      const issued = clock.now
      const cookie = valueOf(request(undefined, (s) => s.set('user', 'ann'))[0])
      clock.now = issued - 60_000
      request(cookie, (s) => assert.equal(s.get('user'), 'ann'))
      clock.now = issued - 60_001
      request(cookie, (s) => assert.equal(s.isNew, true))
      assert.deepEqual(reasons, ['malformed'])
    })

    it('refuses a signed cookie whose last activity is before its creation', () => {
      const { request, clock, reasons } = setup()
      const codec = createSignedCodec({ keyring: createKeyring(SECRET, 'signed-cookie/session') })
      const body = JSON.stringify({ d: { user: 'ann' } })
      const made = (created: number, lastActive: number): string =>
        codec.encode({ created, lastActive, body })
      request(made(clock.now - 1000, clock.now - 1000), (s) => assert.equal(s.get('user'), 'ann'))
      request(made(clock.now - 1000, clock.now - 1001), (s) => assert.equal(s.isNew, true))
      assert.deepEqual(reasons, ['malformed'])
    })
  })

  describe('a custom serializer', () => {
    it('decodes at load, so a cookie it cannot read gives a fresh session, not an error', () => {
      const tagged = {
        encode: (value: unknown) => ({ $v2: value }) as never,
        decode: (json: unknown) => {
          if (typeof json !== 'object' || json === null || !('$v2' in json)) {
            throw new Error('unknown tag')
          }
          return json.$v2
        },
      }
      const before = setup({ serializer: { encode: (v) => v as never, decode: (j) => j } })
      const cookie = valueOf(before.request(undefined, (s) => s.set('user', 'ann'))[0])
      const after = setup({ serializer: tagged })
      after.request(cookie, (s) => {
        assert.equal(s.isNew, true)
        assert.equal(s.get('user'), undefined)
      })
      assert.deepEqual(after.reasons, ['malformed'])
      const fresh = valueOf(after.request(undefined, (s) => s.set('user', 'bob'))[0])
      after.request(fresh, (s) => assert.equal(s.get('user'), 'bob'))
    })

    it('keeps requests apart when its decode hands back its input', () => {
      const { request } = setup({ serializer: { encode: (v) => v as never, decode: (j) => j } })
      const cookie = valueOf(request(undefined, (s) => s.set('cart', { items: ['tea'] }))[0])
      request(cookie, (s) => s.get('cart')!.items.push('from the first request'))
      request(cookie, (s) => {
        assert.deepEqual(s.get('cart'), { items: ['tea'] })
        s.get('cart')!.items.push('not frozen by the first commit')
      })
    })
  })

  describe('key rotation', () => {
    it('accepts a cookie signed by an older secret and re-issues it under the first', () => {
      const old = setup({ secrets: OLD_SECRET })
      const cookie = valueOf(old.request(undefined, (s) => s.set('user', 'ann'))[0])
      const rotated = setup({ secrets: [SECRET, OLD_SECRET] })
      const [header] = rotated.request(cookie, (s) => assert.equal(s.get('user'), 'ann'))
      const reissued = valueOf(header)
      const current = setup({ secrets: SECRET })
      current.request(reissued, (s) => assert.equal(s.get('user'), 'ann'))
      assert.deepEqual(current.reasons, [])
    })

    it('keeps a full cookie, rather than fail, when re-issuing it under a longer key id would not fit', () => {
      const oldKey = { id: 'a', secret: OLD_SECRET }
      const newKey = { id: '2026-11-rotation', secret: SECRET }
      const old = setup({ secrets: [oldKey] })
      // The largest session that fits under the old key's one-character id.
      let cookie = ''
      for (let size = 2900; ; size++) {
        try {
          cookie = valueOf(old.request(undefined, (s) => s.set('blob', 'x'.repeat(size)))[0])
        } catch (error) {
          assert.ok(error instanceof CookieTooLargeError)
          break
        }
      }
      const rotated = setup({ secrets: [newKey, oldKey] })
      let read: string | undefined
      assert.deepEqual(
        rotated.request(cookie, (s) => void (read = s.get('blob'))),
        [],
        'a read-only request sends nothing and keeps the cookie it came with',
      )
      assert.ok(read !== undefined && read.length > 2900, 'the old cookie is still accepted')
      rotated.clock.now += 300_000
      assert.deepEqual(
        rotated.request(cookie, (s) => s.get('user')),
        [],
        'nor when a re-issue is due',
      )
      assert.throws(
        () => rotated.request(cookie, (s) => s.set('user', 'ann')),
        CookieTooLargeError,
        'a request that changes the session still learns it is too large',
      )
    })

    it('refuses a cookie whose secret was removed', () => {
      const old = setup({ secrets: OLD_SECRET })
      const cookie = valueOf(old.request(undefined, (s) => s.set('user', 'ann'))[0])
      const current = setup({ secrets: SECRET })
      current.request(cookie, (s) => assert.equal(s.isNew, true))
      assert.deepEqual(current.reasons, ['unknown-key'])
    })

    it('refuses a cookie minted for another cookie name', () => {
      const other = setup({ cookieName: 'other' })
      const [header] = other.request(undefined, (s) => s.set('user', 'ann'))
      const value = /^other=([^;]*)/.exec(header!)![1]!
      const { request, reasons } = setup()
      request(value, (s) => assert.equal(s.isNew, true))
      assert.deepEqual(reasons, ['bad-signature'])
    })
  })
})
