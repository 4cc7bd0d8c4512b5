import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { recordingStore } from '../../../test/helpers/recording-store.js'
import { ConfigError, StoreUnavailableError, UnserializableValueError } from '../errors.js'
import type { InvalidCookieReason } from '../codec/cookie-codec.js'
import { createMemoryStore } from '../store/memory-store.js'
import type { SessionPatch, SessionStore, StoredSession } from '../store/session-store.js'
import type { Session } from '../session/session.js'
import { createStoreFactory, type StoreFactoryOptions } from './store-factory.js'

const T0 = Date.UTC(2025, 0, 1)

function setup(overrides: Partial<StoreFactoryOptions> = {}) {
  let time = T0
  const inner = createMemoryStore({ sweepIntervalMs: null, now: () => time })
  const recorder = recordingStore(overrides.store ?? inner)
  const reasons: InvalidCookieReason[] = []
  const factory = createStoreFactory<Record<string, unknown>>({
    now: () => time,
    onInvalidCookie: (reason) => reasons.push(reason),
    ...overrides,
    store: recorder.store,
  })
  /** Runs one request: load with `cookie`, let `handle` use the session, commit. */
  const request = async (
    cookie: string | undefined,
    handle: (session: Awaited<ReturnType<typeof factory.load>>) => void = () => undefined,
  ) => {
    const session = await factory.load(cookie === undefined ? undefined : `session=${cookie}`)
    handle(session)
    const headers = await factory.commit(session)
    const sent = headers.find((header) => header.startsWith('session='))
    const value = sent?.slice('session='.length).split(';')[0]
    return { session, headers, cookie: value === '' ? undefined : value }
  }
  const login = async (data: Record<string, unknown> = { user: 'ada' }) => {
    const { cookie } = await request(undefined, (session) => session.update(data))
    recorder.reset()
    return cookie!
  }
  return {
    factory,
    inner,
    recorder,
    reasons,
    request,
    login,
    advance: (ms: number) => void (time += ms),
  }
}

const hash = (id: string): string => createHash('sha256').update(id).digest('base64url')

describe('createStoreFactory', () => {
  describe('ids', () => {
    it('issues a 43-character base64url id and keys the record by its SHA-256', async () => {
      const { request, inner, recorder } = setup()
      const { cookie, headers } = await request(undefined, (session) => session.set('user', 'ada'))
      assert.match(cookie!, /^[A-Za-z0-9_-]{43}$/)
      assert.match(headers[0]!, /; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
      assert.deepEqual((await inner.get(hash(cookie!)))?.data, { user: 'ada' })
      assert.equal(await inner.get(cookie!), undefined, 'the store never holds the raw id')
      for (const call of recorder.calls) assert.notEqual(call.args[0], cookie)
    })

    it('takes its randomness from the injected randomBytes', async () => {
      const { request } = setup({ randomBytes: (size) => new Uint8Array(size).fill(7) })
      const { cookie } = await request(undefined, (session) => session.set('a', 1))
      assert.equal(cookie, Buffer.alloc(32, 7).toString('base64url'))
    })

    it('refuses a cookie of any other shape before asking the store', async () => {
      const { request, recorder, reasons } = setup()
      const shapes = [
        '',
        'a'.repeat(42),
        'a'.repeat(44),
        `${'a'.repeat(42)}=`,
        `${'a'.repeat(42)}+`,
        hash('x').replace('A', '.'),
      ]
      for (const shape of shapes) {
        const { session } = await request(shape, (s) => void s.get('user'))
        assert.equal(session.isNew, true, `shape ${JSON.stringify(shape)}`)
      }
      assert.equal(recorder.calls.length, 0)
      // Every shape but the empty value, which counts as no cookie at all.
      assert.deepEqual(reasons, Array<string>(shapes.length - 1).fill('malformed'))
    })
  })

  describe('damaged records', () => {
    it('gives a fresh session for a record whose data is not an object', async () => {
      const { login, request, inner, reasons } = setup()
      const cookie = await login()
      const record = (await inner.get(hash(cookie)))!
      for (const damaged of [{ data: 'x' }, { data: [1] }, { system: null }]) {
        await inner.set(hash(cookie), { ...record, ...damaged } as unknown as StoredSession)
        const { session } = await request(cookie, (s) => void s.get('user'))
        assert.equal(session.isNew, true)
        assert.equal(session.get('user'), undefined)
      }
      assert.deepEqual(reasons, ['malformed', 'malformed', 'malformed'])
    })

    it('decodes records eagerly with a custom serializer, so one that fails gives a fresh session', async () => {
      const failing = {
        encode: (value: unknown) => value as never,
        decode: () => {
          throw new Error('cannot read this')
        },
      }
      const { login, request, reasons } = setup({ serializer: failing })
      const cookie = await login()
      const { session } = await request(cookie)
      assert.equal(session.isNew, true)
      assert.deepEqual(reasons, ['malformed'])
    })
  })

  describe('a serializer that throws', () => {
    it('fails the commit with UnserializableValueError, not a store outage, under every policy', async () => {
      const throwing = {
        encode: (value: unknown) => {
          if ((value as { explode?: boolean } | null)?.explode === true) {
            throw new RangeError('too deep')
          }
          return value as never
        },
        decode: (json: unknown) => structuredClone(json),
      }
      for (const onStoreError of ['fail', 'fresh-session'] as const) {
        const { login, request, inner } = setup({ serializer: throwing, onStoreError })
        const cookie = await login({ keep: 1, box: {} })
        await assert.rejects(
          request(cookie, (session) => {
            session.set('keep', 2)
            // A change in place: only the commit's encoding meets it.
            ;(session.get('box') as { explode?: boolean }).explode = true
          }),
          (error: unknown) =>
            error instanceof UnserializableValueError &&
            error.key === 'box' &&
            error.cause instanceof RangeError,
          onStoreError,
        )
        assert.equal((await inner.get(hash(cookie)))?.data.keep, 1, onStoreError)
      }
    })
  })

  describe('revokeSessions racing regenerate()', () => {
    it('also ends the new session of a regenerate that ran while a store listed the old one', async () => {
      const inner = createMemoryStore({ sweepIntervalMs: null, now: () => T0 })
      let release!: () => void
      const regenerating = new Promise<void>((resolve) => (release = resolve))
      // A store that lists the owner's sessions, then deletes them one by one (as Redis and the
      // file store do): the regenerate runs between the two.
      const listing: SessionStore = {
        ...inner,
        deleteByOwner: async (owner, except) => {
          const listed = await inner.listByOwner(owner)
          await regenerating
          let count = 0
          for (const { idHash } of listed) {
            if (idHash === except || (await inner.get(idHash)) === undefined) continue
            await inner.delete(idHash)
            count++
          }
          return count
        },
      }
      const { request, login, factory } = setup({ store: listing })
      const cookie = await login({ user: 'ada' })
      await request(cookie, (s) => s.setOwner('ada'))
      const session = await factory.load(`session=${cookie}`)
      session.regenerate()
      const revoking = factory.revokeSessions('ada')
      const [fresh] = await factory.commit(session)
      release()
      await revoking
      const { session: after } = await request(fresh!.slice('session='.length).split(';')[0])
      assert.equal(after.isNew, true, 'the regenerated session was ended too')
      assert.deepEqual(await factory.listSessions('ada'), [])
    })
  })

  describe('strict mode', () => {
    it('never adopts an id the server did not issue, and mints a new one on write', async () => {
      const { request, recorder, inner, reasons } = setup()
      const forged = hash('attacker-chosen')
      const { session, cookie } = await request(forged, (s) => s.set('user', 'victim'))
      assert.equal(session.isNew, true)
      assert.notEqual(cookie, forged)
      assert.equal(await inner.get(hash(forged)), undefined)
      assert.equal(recorder.count('get'), 1)
      assert.deepEqual(reasons, ['unknown-key'])
    })

    it('creates no record and sends no cookie for a session that was only read', async () => {
      const { request, recorder } = setup()
      const { headers } = await request(hash('unknown'), (s) => void s.get('user'))
      assert.deepEqual(headers, [])
      assert.equal(recorder.writes(), 0)
    })

    it('creates no record for an empty session, even after set and delete', async () => {
      const { request, recorder } = setup()
      const { headers } = await request(undefined, (s) => {
        s.set('a', 1)
        s.delete('a')
      })
      assert.deepEqual(headers, [])
      assert.equal(recorder.calls.length, 0)
    })
  })

  describe('load', () => {
    it('reads the store exactly once and writes nothing for a read-only request', async () => {
      const { request, login, recorder } = setup({ reissueTime: null })
      const cookie = await login({ user: 'ada', n: 1 })
      const { session, headers } = await request(cookie, (s) => {
        assert.equal(s.get('user'), 'ada')
        assert.equal(s.get('n'), 1)
      })
      assert.equal(session.isNew, false)
      assert.deepEqual(headers, [])
      assert.deepEqual(
        recorder.calls.map((call) => call.method),
        ['get'],
      )
    })

    it('costs no store call without a cookie', async () => {
      const { request, recorder } = setup()
      await request(undefined, (s) => void s.get('user'))
      assert.equal(recorder.calls.length, 0)
    })

    it('ends a session past its idle timeout from the record itself, and deletes it', async () => {
      // A store that ignores expiry: the factory must still enforce it.
      const records = new Map<string, StoredSession>()
      const lax: SessionStore = {
        get: (id) => Promise.resolve(records.get(id)),
        set: (id, record) => {
          records.set(id, record)
          return Promise.resolve(true)
        },
        patch: () => Promise.resolve(false),
        touch: () => Promise.resolve(false),
        delete: (id) => Promise.resolve(void records.delete(id)),
        listByOwner: () => Promise.resolve([]),
        deleteByOwner: () => Promise.resolve(0),
      }
      const { request, login, advance, reasons, recorder } = setup({
        store: lax,
        timeout: 60,
        absoluteTimeout: 3600,
      })
      const cookie = await login()
      advance(60_001)
      const { session } = await request(cookie, (s) => assert.equal(s.get('user'), undefined))
      assert.equal(session.isNew, true)
      assert.deepEqual(reasons, ['expired'])
      assert.equal(recorder.count('delete'), 1)
      assert.equal(records.size, 0)
    })

    it('keeps a session idle for exactly timeout, and ends it one millisecond later', async () => {
      const { request, login, advance } = setup({ timeout: 60, absoluteTimeout: 3600 })
      const cookie = await login()
      advance(60_000)
      const atDeadline = await request(cookie, (s) => void s.get('user'))
      assert.equal(atDeadline.session.isNew, false, 'exactly timeout: still valid')
      const other = await login()
      advance(60_001)
      assert.equal((await request(other, (s) => void s.get('user'))).session.isNew, true)
    })

    it('keeps a session however active until exactly its absolute timeout, and ends it one millisecond later', async () => {
      const { request, login, advance } = setup({
        timeout: 60,
        absoluteTimeout: 300,
        reissueTime: 0,
      })
      const cookie = await login()
      for (let i = 0; i < 6; i++) {
        advance(50_000)
        assert.equal((await request(cookie, (s) => void s.get('user'))).session.isNew, false)
      }
      // Now exactly 300 s after login.
      advance(1)
      assert.equal((await request(cookie, (s) => void s.get('user'))).session.isNew, true)
    })
  })

  describe('commit', () => {
    it('writes nothing for changes a request undoes itself', async () => {
      const { request, login, recorder } = setup({ reissueTime: null })
      const cookie = await login({ user: 'ada' })
      const undone: ((s: Session<Record<string, unknown>>) => void)[] = [
        (s) => {
          s.set('note', 'x')
          s.delete('note')
        },
        (s) => {
          s.flash('saved')
          s.popFlash()
        },
        (s) => {
          s.delete('user')
          s.set('user', 'ada')
        },
      ]
      for (const handler of undone) {
        recorder.calls.length = 0
        assert.deepEqual((await request(cookie, handler)).headers, [])
        assert.deepEqual(
          recorder.calls.map((call) => call.method),
          ['get'],
        )
      }
    })

    it('answers at once, without a promise, when there is nothing to save', async () => {
      const { factory, login, advance, recorder } = setup()
      const cookie = await login({ user: 'ada', cart: ['tea'] })
      /** Loads the session, lets `handle` use it, and returns what commit returned, unawaited. */
      const commitOf = async (handle: (s: Session<Record<string, unknown>>) => void) => {
        const session = await factory.load(`session=${cookie}`)
        handle(session)
        return { committed: factory.commit(session) }
      }
      // Read-only, with an object handed out and left as it was, or an untouched new session.
      assert.deepEqual((await commitOf((s) => void s.get('cart'))).committed, [])
      const fresh = await factory.load(undefined)
      fresh.get('user')
      assert.deepEqual(factory.commit(fresh), [])
      assert.deepEqual(
        recorder.calls.map((call) => call.method),
        ['get'],
      )
      // A change, or a touch that is due, still goes to the store.
      const { committed: changing } = await commitOf((s) =>
        (s.get('cart') as string[]).push('cake'),
      )
      assert.ok(changing instanceof Promise)
      await changing
      advance(121_000)
      const { committed: touching } = await commitOf((s) => void s.get('user'))
      assert.ok(touching instanceof Promise)
      await touching
      assert.deepEqual(
        recorder.calls.map((call) => call.method),
        ['get', 'get', 'patch', 'get', 'touch'],
      )
    })

    it('patches only the keys a request changed', async () => {
      const { request, login, recorder } = setup()
      const cookie = await login({ user: 'ada', cart: ['tea'], gone: 1 })
      await request(cookie, (s) => {
        ;(s.get('cart') as string[]).push('cake')
        s.delete('gone')
      })
      assert.deepEqual(
        recorder.calls.map((call) => call.method),
        ['get', 'patch'],
      )
      const patch = recorder.calls[1]!.args[1] as SessionPatch
      assert.deepEqual([...patch.data.set], [['cart', ['tea', 'cake']]])
      assert.deepEqual([...patch.data.deleted], ['gone'])
      assert.equal(patch.owner, undefined)
      assert.equal(patch.lastActive, T0)
    })

    it('keeps the changes of two overlapping requests that change different keys', async () => {
      const { factory, login, inner } = setup()
      const cookie = await login({ user: 'ada' })
      const first = await factory.load(`session=${cookie}`)
      const second = await factory.load(`session=${cookie}`)
      first.set('a', 1)
      second.set('b', 2)
      await factory.commit(first)
      await factory.commit(second)
      assert.deepEqual((await inner.get(hash(cookie)))?.data, { user: 'ada', a: 1, b: 2 })
    })

    it('writes the whole record, only if it still exists, after clear()', async () => {
      const { request, login, recorder, inner } = setup()
      const cookie = await login({ user: 'ada', other: 1 })
      await request(cookie, (s) => {
        s.clear()
        s.set('fresh', true)
      })
      assert.deepEqual(recorder.calls[1]!.args[2], { onlyIfExists: true })
      assert.deepEqual((await inner.get(hash(cookie)))?.data, { fresh: true })
    })

    it('regenerates: new id, same data, new record written, old one checked and deleted', async () => {
      const { request, login, recorder, inner } = setup()
      const cookie = await login({ user: 'ada' })
      const { cookie: next } = await request(cookie, (s) => s.regenerate())
      assert.notEqual(next, cookie)
      assert.deepEqual(
        recorder.calls.map((call) => [call.method, call.args[0]]),
        [
          ['get', hash(cookie)],
          ['set', hash(next!)],
          ['get', hash(cookie)],
          ['delete', hash(cookie)],
        ],
      )
      assert.equal(await inner.get(hash(cookie)), undefined)
      assert.deepEqual((await inner.get(hash(next!)))?.data, { user: 'ada' })
    })

    it('removes the new record when a regenerate fails after writing it, keeping the old session', async () => {
      const inner = createMemoryStore({ sweepIntervalMs: null, now: () => T0 })
      let failGets = false
      const flaky: SessionStore = {
        ...inner,
        get: (idHash) =>
          failGets ? Promise.reject(new Error('connection lost')) : inner.get(idHash),
      }
      const { request, login, factory } = setup({ store: flaky, onStoreError: 'fail' })
      const cookie = await login({ user: 'ada' })
      await request(cookie, (s) => s.setOwner('ada'))
      const before = await factory.listSessions('ada')
      const session = await factory.load(`session=${cookie}`)
      session.regenerate()
      failGets = true
      await assert.rejects(Promise.resolve(factory.commit(session)), StoreUnavailableError)
      failGets = false
      assert.deepEqual(
        (await factory.listSessions('ada')).map((summary) => summary.idHash),
        before.map((summary) => summary.idHash),
        'no phantom session is left behind',
      )
      const { session: again } = await request(cookie)
      assert.equal(again.get('user'), 'ada', 'the old session still works')
    })

    it('keeps the old session when a regenerate runs past storeTimeout, and leaves no new one', async () => {
      const inner = createMemoryStore({ sweepIntervalMs: null, now: () => T0 })
      let hold: Promise<void> | undefined
      let cleanedUp!: () => void
      const deleted = new Promise<void>((resolve) => (cleanedUp = resolve))
      const slow: SessionStore = {
        ...inner,
        // Once `hold` is set, reads wait for it: the new record is written at once, and the
        // read-back of the old one answers only after the deadline has passed.
        get: async (idHash) => {
          await hold
          return inner.get(idHash)
        },
        delete: async (idHash) => {
          await inner.delete(idHash)
          cleanedUp()
        },
      }
      const { request, login, factory } = setup({ store: slow, storeTimeout: 100 })
      const cookie = await login({ user: 'ada' })
      await request(cookie, (s) => s.setOwner('ada'))
      const session = await factory.load(`session=${cookie}`)
      session.regenerate()
      let release!: () => void
      hold = new Promise((resolve) => (release = resolve))
      await assert.rejects(Promise.resolve(factory.commit(session)), StoreUnavailableError)
      hold = undefined
      release()
      await deleted // the commit's cleanup removed the new record
      const listed = await factory.listSessions('ada')
      assert.deepEqual(
        listed.map((summary) => summary.idHash),
        [hash(cookie)],
      )
      const { session: again } = await request(cookie)
      assert.equal(again.get('user'), 'ada', 'the old session is still the session')
    })

    it('invalidates: deletes the record and sends a deletion cookie', async () => {
      const { request, login, inner } = setup()
      const cookie = await login()
      const { headers } = await request(cookie, (s) => s.invalidate())
      assert.equal(headers.length, 1)
      assert.match(headers[0]!, /^session=; Max-Age=0/)
      assert.equal(await inner.get(hash(cookie)), undefined)
      assert.equal((await request(cookie, (s) => void s.get('user'))).session.isNew, true)
    })

    it('starts a new session under a new id when data is set after invalidate()', async () => {
      const { request, login, inner } = setup()
      const cookie = await login()
      const { cookie: next } = await request(cookie, (s) => {
        s.invalidate()
        s.set('guest', true)
      })
      assert.notEqual(next, cookie)
      assert.equal(await inner.get(hash(cookie)), undefined)
      assert.deepEqual((await inner.get(hash(next!)))?.data, { guest: true })
    })

    it('patches away the last key (a parallel request may add one) but deletes on clear()', async () => {
      const { request, login, inner } = setup()
      const cookie = await login({ only: 1 })
      const { headers } = await request(cookie, (s) => s.delete('only'))
      assert.deepEqual(headers, [])
      assert.deepEqual((await inner.get(hash(cookie)))?.data, {})

      const other = await login({ only: 1 })
      const cleared = await request(other, (s) => s.clear())
      assert.match(cleared.headers[0]!, /^session=; Max-Age=0/)
      assert.equal(await inner.get(hash(other)), undefined)
    })

    it('does not resurrect a session another request ended, and sends no cookie', async () => {
      const { factory, login, inner } = setup({ maxAge: 3600 })
      const cookie = await login()
      const slow = await factory.load(`session=${cookie}`)
      const slowClear = await factory.load(`session=${cookie}`)
      const logout = await factory.load(`session=${cookie}`)
      logout.invalidate()
      await factory.commit(logout)
      slow.set('late', 1)
      assert.deepEqual(await factory.commit(slow), [])
      slowClear.clear()
      slowClear.set('x', 1)
      assert.deepEqual(await factory.commit(slowClear), [])
      assert.equal(await inner.get(hash(cookie)), undefined)
    })

    it('touches the expiry, without writing data, only once reissueTime has passed', async () => {
      const { request, login, recorder, advance } = setup({ timeout: 1200, reissueTime: 120 })
      const cookie = await login()
      advance(60_000)
      await request(cookie, (s) => void s.get('user'))
      advance(60_000)
      await request(cookie, (s) => void s.get('user'))
      assert.equal(recorder.writes(), 0, 'exactly reissueTime: no touch yet')
      advance(1)
      const { headers } = await request(cookie, (s) => void s.get('user'))
      assert.deepEqual(
        recorder.calls.map((call) => call.method),
        ['get', 'get', 'get', 'touch'],
      )
      assert.deepEqual(recorder.calls[3]!.args, [
        hash(cookie),
        T0 + 120_001,
        T0 + 120_001 + 1_200_000 + 1, // one past the idle deadline
      ])
      assert.deepEqual(headers, [], 'a browser-session cookie needs no re-send')
    })

    it('re-sends a cookie with maxAge when it touches or writes (sliding expiry)', async () => {
      const { request, login, advance } = setup({ timeout: 1200, reissueTime: 0, maxAge: 1200 })
      const cookie = await login()
      advance(1000)
      const touched = await request(cookie, (s) => void s.get('user'))
      assert.equal(touched.cookie, cookie)
      assert.match(touched.headers[0]!, /Max-Age=1200/)
      const written = await request(cookie, (s) => s.set('n', 1))
      assert.equal(written.cookie, cookie)
    })

    it('saves nothing for a failed request when setOnException is false', async () => {
      const { factory, recorder } = setup({ setOnException: false })
      const session = await factory.load(undefined)
      session.set('a', 1)
      assert.deepEqual(await factory.commit(session, { failed: true }), [])
      assert.equal(recorder.calls.length, 0)
    })
  })

  describe('owners', () => {
    it('indexes a session by owner, lists it, and revokes the other sessions', async () => {
      const { factory, request, inner } = setup()
      const owned = async () => (await request(undefined, (s) => s.setOwner('ada'))).cookie!
      const [phone, laptop, tablet] = [await owned(), await owned(), await owned()]
      const listed = await factory.listSessions('ada')
      assert.deepEqual(listed.map((s) => s.idHash).sort(), [phone, laptop, tablet].map(hash).sort())
      const current = await factory.load(`session=${laptop}`)
      assert.equal(factory.idHashOf(current), hash(laptop))
      assert.equal(await factory.revokeSessions('ada', { except: current }), 2)
      assert.equal(await inner.get(hash(phone)), undefined)
      assert.equal(await inner.get(hash(tablet)), undefined)
      assert.notEqual(await inner.get(hash(laptop)), undefined)
      assert.equal(await factory.revokeSessions('ada'), 1)
    })

    it('gives a fresh session even when onInvalidCookie throws', async () => {
      const warned = new Promise<Error>((resolve) => process.once('warning', resolve))
      const { request } = setup({
        onInvalidCookie: () => {
          throw new Error('logger down')
        },
      })
      const { session } = await request('not-an-id')
      assert.equal(session.isNew, true)
      assert.match((await warned).message, /onInvalidCookie threw \(Error: logger down\)/)
    })

    it('lists the sessions most recently active first', async () => {
      const { factory, request, advance } = setup()
      const owned = async () => (await request(undefined, (s) => s.setOwner('ada'))).cookie!
      const phone = await owned()
      advance(10_000)
      const laptop = await owned()
      advance(10_000)
      const tablet = await owned()
      advance(10_000)
      await request(phone, (s) => s.set('seen', 1))
      const listed = await factory.listSessions('ada')
      assert.deepEqual(
        listed.map((s) => s.idHash),
        [phone, tablet, laptop].map(hash),
      )
    })

    it("leaves out sessions past this factory's timeouts that the store still holds", async () => {
      const { request, inner, advance } = setup()
      const cookie = (await request(undefined, (s) => s.setOwner('ada'))).cookie!
      // The same store behind a factory with a shorter idle timeout (the option was lowered).
      let time = T0
      const stricter = createStoreFactory({ store: inner, timeout: 60, now: () => time })
      advance(120_000)
      time += 120_000
      assert.deepEqual(
        (await inner.listByOwner('ada')).map((s) => s.idHash),
        [hash(cookie)],
        'the store still lists it',
      )
      assert.deepEqual(await stricter.listSessions('ada'), [])
    })

    it('sends the owner in the patch when setOwner changes it', async () => {
      const { request, login, recorder } = setup()
      const cookie = await login()
      await request(cookie, (s) => s.setOwner('ada'))
      assert.equal((recorder.calls[1]!.args[1] as SessionPatch).owner, 'ada')
      recorder.reset()
      await request(cookie, (s) => s.setOwner(null))
      assert.equal((recorder.calls[1]!.args[1] as SessionPatch).owner, null)
    })

    it('keeps the regenerated session when it is the one excepted', async () => {
      const { factory, login } = setup()
      const cookie = await login()
      const session = await factory.load(`session=${cookie}`)
      session.regenerate()
      session.setOwner('ada')
      await factory.commit(session)
      assert.equal(await factory.revokeSessions('ada', { except: session }), 0)
      assert.equal((await factory.listSessions('ada')).length, 1)
    })
  })

  describe('store errors', () => {
    const broken = (): SessionStore => {
      const fail = () => Promise.reject(new Error('connection refused'))
      return {
        get: fail,
        set: fail,
        patch: fail,
        touch: fail,
        delete: fail,
        listByOwner: fail,
        deleteByOwner: fail,
      }
    }

    it('throws StoreUnavailableError with the driver error as cause on load and commit', async () => {
      const { factory } = setup({ store: broken() })
      const error = await Promise.resolve(factory.load(`session=${hash('x')}`)).then(
        () => assert.fail('load should fail'),
        (caught: unknown) => caught,
      )
      assert.ok(error instanceof StoreUnavailableError)
      assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
      assert.equal((error.cause as Error).message, 'connection refused')
      const session = await factory.load(undefined)
      session.set('a', 1)
      await assert.rejects(Promise.resolve(factory.commit(session)), {
        code: 'ERR_STORE_UNAVAILABLE',
      })
      await assert.rejects(factory.listSessions('ada'), { code: 'ERR_STORE_UNAVAILABLE' })
      await assert.rejects(factory.revokeSessions('ada'), { code: 'ERR_STORE_UNAVAILABLE' })
    })

    it('gives up on a store that does not answer within storeTimeout', async () => {
      // Real timers: the deadline runs on the monotonic clock, which node:test cannot fake.
      const hung: SessionStore = { ...broken(), get: () => new Promise(() => undefined) }
      const { factory } = setup({ store: hung, storeTimeout: 200 })
      const started = performance.now()
      const loading = Promise.resolve(factory.load(`session=${hash('x')}`))
      let settled = false
      loading.then(
        () => (settled = true),
        () => (settled = true),
      )
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(settled, false, 'it waits for the store')
      await assert.rejects(loading, (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError)
        assert.match((error.cause as Error).message, /200 ms/)
        return true
      })
      assert.ok(performance.now() - started >= 190)
    })

    it("serves an empty read-only session with 'fresh-session', never overwriting the stored one", async () => {
      let down = false
      const healthy = createMemoryStore({ sweepIntervalMs: null, now: () => T0 })
      const flaky: SessionStore = new Proxy(healthy, {
        get: (target, property: keyof SessionStore, receiver) =>
          down
            ? () => Promise.reject(new Error('down'))
            : (Reflect.get(target, property, receiver) as unknown),
      })
      const seen: [string, string][] = []
      const { factory, request, login } = setup({
        store: flaky,
        onStoreError: (error, operation) => {
          seen.push([error.code, operation])
          return 'fresh-session'
        },
      })
      const cookie = await login({ user: 'ada' })
      down = true
      const { session, headers } = await request(cookie, (s) => {
        assert.equal(s.get('user'), undefined)
        s.set('user', 'mallory')
      })
      assert.equal(session.isNew, true)
      assert.deepEqual(headers, [])
      const logout = await request(cookie, (s) => s.invalidate())
      assert.match(logout.headers[0]!, /^session=; Max-Age=0/, 'a logout still drops the cookie')
      const anonymous = await factory.load(undefined)
      anonymous.set('x', 1)
      assert.deepEqual(await factory.commit(anonymous), [])
      assert.deepEqual(seen, [
        ['ERR_STORE_UNAVAILABLE', 'load'],
        ['ERR_STORE_UNAVAILABLE', 'load'],
        ['ERR_STORE_UNAVAILABLE', 'commit'],
      ])
      down = false
      assert.deepEqual((await healthy.get(hash(cookie)))?.data, { user: 'ada' })
      assert.equal(
        (await request(cookie, (s) => assert.equal(s.get('user'), 'ada'))).session.isNew,
        false,
      )
    })
  })

  describe('options', () => {
    it('refuses a store without the contract methods and a bad storeTimeout', () => {
      assert.throws(() => createStoreFactory({ store: {} as SessionStore }), ConfigError)
      const store = createMemoryStore({ sweepIntervalMs: null })
      assert.throws(() => createStoreFactory({ store, storeTimeout: 0 }), {
        code: 'ERR_INVALID_OPTION',
      })
      assert.throws(() => createStoreFactory({ store, onStoreError: 'ignore' as 'fail' }), {
        code: 'ERR_INVALID_OPTION',
      })
      assert.throws(() => createStoreFactory({ store, sameSite: 'none', secure: false }), {
        code: 'ERR_INVALID_OPTION',
      })
    })
  })
})
