import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import type { InvalidCookieReason } from '../codec/cookie-codec.js'
import { ConfigError, SessionCommittedError, StoreUnavailableError } from '../errors.js'
import type { JsonValue, Serializer } from '../session/serializer.js'
import { sessionChanges, type Session } from '../session/session.js'
import { createMemoryStore, type MemoryStore } from '../store/memory-store.js'
import type { SessionStore } from '../store/session-store.js'
import {
  MAX_REVOKED_PER_OWNER,
  type CookieRevocationOptions,
  type RevocableSessionFactory,
} from './cookie-revocation.js'
import { createEncryptedCookieFactory } from './encrypted-cookie-factory.js'
import type { SessionFactory } from './session-factory.js'
import {
  createSignedCookieFactory,
  type SignedCookieFactoryOptions,
} from './signed-cookie-factory.js'

const SECRET = 'r'.repeat(32)
const START = 1_800_000_000_000
const DAY = 86_400_000

interface Data {
  user?: string
  n?: number
}

function setup(
  options: Partial<SignedCookieFactoryOptions> & { store?: SessionStore } = {},
  revocation: Partial<CookieRevocationOptions> = {},
) {
  const clock = { now: START }
  const now = (): number => clock.now
  const reasons: InvalidCookieReason[] = []
  const store: SessionStore = options.store ?? createMemoryStore({ now, sweepIntervalMs: null })
  const factory = createSignedCookieFactory<Data>({
    secrets: SECRET,
    now,
    onInvalidCookie: (reason) => reasons.push(reason),
    ...options,
    revocation: { store, ...revocation },
  })
  /** One request: load with `cookie`, run `handler`, commit; returns the new cookie value. */
  const request = async (
    cookie: string | undefined,
    handler: (session: Session<Data>) => unknown,
  ): Promise<{ cookie: string | undefined; headers: readonly string[] }> => {
    const session = await factory.load(cookie === undefined ? undefined : `session=${cookie}`)
    await handler(session)
    const headers = await factory.commit(session)
    const header = headers.find((h) => h.startsWith('session='))
    const value = header?.slice('session='.length, header.indexOf(';'))
    return { cookie: value === '' ? undefined : value, headers }
  }
  /** Logs `user` in: a new session with an owner. */
  const login = async (user: string): Promise<string> => {
    const { cookie } = await request(undefined, (s) => {
      s.regenerate()
      s.setOwner(user)
      s.set('user', user)
    })
    assert.ok(cookie !== undefined)
    return cookie
  }
  /** The user a cookie is logged in as, or 'anonymous' when it gives a fresh session. */
  const whoIs = async (cookie: string): Promise<string> => {
    let user = 'anonymous'
    await request(cookie, (s) => {
      user = s.get('user') ?? 'anonymous'
    })
    return user
  }
  return { factory, store, clock, reasons, request, login, whoIs }
}

/** The library fields inside a signed cookie (its body is readable). */
function systemOf(cookie: string): Record<string, unknown> {
  const body = JSON.parse(Buffer.from(cookie.split('.')[4]!, 'base64url').toString('utf8')) as {
    s?: Record<string, unknown>
  }
  return body.s ?? {}
}

const ownerKey = (owner: string): string =>
  createHash('sha256').update(`cloakroom/revocation/owner/session/${owner}`).digest('base64url')

describe('createSignedCookieFactory({ revocation })', () => {
  it('puts a 128-bit session id inside the authenticated body, never into the session', async () => {
    const { request } = setup()
    const { cookie } = await request(undefined, (s) => s.set('n', 1))
    const system = systemOf(cookie!)
    assert.match(String(system.sid), /^[A-Za-z0-9_-]{22}$/)
    assert.equal(system.gen, undefined, 'no owner, no generation')
    await request(cookie, (s) => {
      assert.equal(s.get('n'), 1)
      assert.equal(sessionChanges(s).readSystem('sid'), undefined)
    })
  })

  it('loads synchronously without a cookie and asynchronously with one', async () => {
    const { factory, request } = setup()
    assert.equal(factory.load(undefined) instanceof Promise, false)
    const { cookie } = await request(undefined, (s) => s.set('n', 1))
    const loading = factory.load(`session=${cookie}`)
    assert.ok(loading instanceof Promise)
    assert.equal((await loading).get('n'), 1)
  })

  it('takes its session ids from the injected randomBytes', async () => {
    const { request } = setup({}, { randomBytes: (size) => new Uint8Array(size).fill(7) })
    const { cookie } = await request(undefined, (s) => s.set('n', 1))
    assert.equal(systemOf(cookie!).sid, Buffer.alloc(16, 7).toString('base64url'))
  })

  it('refuses a cookie replayed after invalidate() with reason revoked', async () => {
    const { request, reasons } = setup()
    const { cookie } = await request(undefined, (s) => s.set('user', 'ann'))
    const logout = await request(cookie, (s) => s.invalidate())
    assert.match(logout.headers[0]!, /^session=; Max-Age=0/)
    await request(cookie, (s) => {
      assert.equal(s.isNew, true)
      assert.equal(s.get('user'), undefined)
    })
    assert.deepEqual(reasons, ['revoked'])
  })

  it('records nothing when an ownerless session without user data ends, so anyone cannot fill the store', async () => {
    const { request, store, whoIs } = setup()
    for (let round = 0; round < 50; round++) {
      const { cookie } = await request(undefined, (s) => s.getCsrfToken())
      await request(cookie, (s) => s.invalidate())
    }
    assert.equal((await (store as MemoryStore).stats()).live, 0)
    // A session that held data is recorded, and its replayed cookie refused.
    const { cookie } = await request(undefined, (s) => s.set('user', 'ann'))
    await request(cookie, (s) => s.invalidate())
    assert.equal((await (store as MemoryStore).stats()).live, 1)
    assert.equal(await whoIs(cookie!), 'anonymous')
  })

  it(`keeps an owner record to ${MAX_REVOKED_PER_OWNER} revoked ids: the next logout ends all of the owner's sessions`, async () => {
    const { login, request, whoIs, store } = setup()
    const kept = await login('ann')
    for (let round = 0; round < MAX_REVOKED_PER_OWNER; round++) {
      await request(await login('ann'), (s) => s.invalidate())
    }
    const revokedIds = async (): Promise<number> =>
      Object.keys((await store.get(ownerKey('ann')))!.system).filter((field) =>
        field.startsWith('r:'),
      ).length
    assert.equal(await revokedIds(), MAX_REVOKED_PER_OWNER)
    assert.equal(await whoIs(kept), 'ann', 'the other device is still in')
    const last = await login('ann')
    await request(last, (s) => s.invalidate())
    assert.equal(await revokedIds(), 0, 'the record shrinks back')
    assert.deepEqual([await whoIs(kept), await whoIs(last)], ['anonymous', 'anonymous'])
    assert.equal(await whoIs(await login('ann')), 'ann', 'a new login works')
  })

  it('issues the new generation to a session that regenerates when its owner record is full', async () => {
    const { login, request, whoIs } = setup()
    const other = await login('ann')
    let current = await login('ann')
    // A logged-in session regenerating again and again (a privilege change, a repeated login).
    for (let round = 0; round <= MAX_REVOKED_PER_OWNER; round++) {
      const before = current
      const { cookie } = await request(current, (s) => {
        s.regenerate()
        s.set('user', 'ann')
      })
      assert.ok(cookie !== undefined)
      current = cookie
      assert.equal(await whoIs(before), 'anonymous', `round ${round}: the old id is ended`)
    }
    assert.equal(await whoIs(current), 'ann', 'the session that regenerated goes on')
    assert.equal(await whoIs(other), 'anonymous', 'the full record ended the other sessions')
  })

  it('does not let a regenerate past a full owner record overtake a "log out everywhere"', async () => {
    const inner = createMemoryStore({ sweepIntervalMs: null, now: () => START })
    /** Runs before the store's read number `n` (counted from `reads = 0`). */
    const beforeRead = new Map<number, () => Promise<unknown>>()
    let reads = 0
    const store: SessionStore = {
      ...inner,
      get: async (key) => {
        const hook = beforeRead.get(++reads)
        beforeRead.delete(reads)
        await hook?.()
        return inner.get(key)
      },
    }
    const { factory, login, request, whoIs } = setup({ store })
    const laptop = await login('ann')
    const phone = await login('ann')
    for (let round = 0; round < MAX_REVOKED_PER_OWNER; round++) {
      await request(await login('ann'), (s) => s.invalidate())
    }
    // The phone regenerates. Its commit checks its cookie, reads the owner's generation for the
    // new cookie, then reads the full record to bump it; just before that third read, ann logs
    // out everywhere from the laptop.
    const session = await factory.load(`session=${phone}`)
    session.regenerate()
    reads = 0
    beforeRead.set(3, () => request(laptop, () => factory.revokeSessions('ann')))
    const headers = await factory.commit(session)
    assert.equal(beforeRead.size, 0, 'the laptop logged out everywhere during the commit')
    const cookie = headers[0]!.slice('session='.length, headers[0]!.indexOf(';'))
    assert.equal(await whoIs(laptop), 'anonymous')
    assert.equal(await whoIs(cookie), 'anonymous', 'the overlapping regenerate does not survive it')
  })

  it('reads the owner through a custom serializer, as it was written', async () => {
    // A serializer in the superjson style: every value travels wrapped.
    const wrapping: Serializer = {
      encode: (value) => ({ json: value as JsonValue }),
      decode: (encoded) => (encoded as { json: unknown }).json,
    }
    const { factory, login, request, whoIs, store } = setup({ serializer: wrapping })
    const cookie = await login('ann')
    const records = (store as MemoryStore).size
    // An ordinary write keeps the identity: no new id, nothing revoked.
    const { cookie: written } = await request(cookie, (s) => s.set('n', 1))
    assert.equal(systemOf(written!).sid, systemOf(cookie).sid)
    assert.equal((store as MemoryStore).size, records)
    await factory.revokeSessions('ann')
    assert.equal(await whoIs(written!), 'anonymous')
  })

  it('writes the revocation before the deletion cookie is returned', async () => {
    const inner = createMemoryStore({ sweepIntervalMs: null, now: () => START })
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    const store: SessionStore = {
      ...inner,
      set: async (...args) => {
        await gate
        return inner.set(...args)
      },
    }
    const { factory, request } = setup({ store })
    const { cookie } = await request(undefined, (s) => s.set('n', 1))
    const session = await factory.load(`session=${cookie}`)
    session.invalidate()
    let done = false
    const committing = Promise.resolve(factory.commit(session)).then((headers) => {
      done = true
      return headers
    })
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(done, false, 'the commit waits for the store')
    release()
    assert.match((await committing)[0]!, /^session=; Max-Age=0/)
    assert.equal(inner.size, 1, 'the revoked marker is stored')
  })

  it("extends the owner record when a later login's cookie would outlive it", async () => {
    const { login, whoIs, clock } = setup({ absoluteTimeout: 3600, timeout: null })
    await login('ann')
    clock.now += 3000_000
    const laptop = await login('ann')
    // Past the end the first login gave the record (3600 s + the 60 s clock margin), well
    // within the laptop cookie's own 3600 s.
    clock.now = START + 3660_000 + 1
    assert.equal(await whoIs(laptop), 'ann')
  })

  it("keeps the owner record for the owner's other sessions when one logs out", async () => {
    const { login, request, whoIs, clock } = setup()
    const phone = await login('ann')
    const laptop = await login('ann')
    await request(phone, (s) => s.invalidate())
    clock.now += 60_000
    assert.equal(await whoIs(phone), 'anonymous')
    assert.equal(await whoIs(laptop), 'ann')
  })

  it('gives regenerate() a new id and refuses the old cookie', async () => {
    const { request, whoIs } = setup()
    const { cookie: before } = await request(undefined, (s) => s.set('user', 'ann'))
    const { cookie: after } = await request(before, (s) => s.regenerate())
    assert.notEqual(systemOf(after!).sid, systemOf(before!).sid)
    assert.equal(await whoIs(before!), 'anonymous')
    assert.equal(await whoIs(after!), 'ann')
  })

  it('gives a session a new id when its owner changes, ending the anonymous cookie', async () => {
    const { request, whoIs } = setup()
    const { cookie: anonymous } = await request(undefined, (s) => s.set('user', 'guest'))
    const { cookie: owned } = await request(anonymous, (s) => s.setOwner('ann'))
    assert.notEqual(systemOf(owned!).sid, systemOf(anonymous!).sid)
    assert.equal(typeof systemOf(owned!).gen, 'number')
    assert.equal(await whoIs(anonymous!), 'anonymous')
    assert.equal(await whoIs(owned!), 'guest')
  })

  it('keeps the id and generation across ordinary writes', async () => {
    const { request, login } = setup()
    const cookie = await login('ann')
    const { cookie: next } = await request(cookie, (s) => s.set('n', 2))
    assert.equal(systemOf(next!).sid, systemOf(cookie).sid)
    assert.equal(systemOf(next!).gen, systemOf(cookie).gen)
  })

  it('revokeSessions(owner) refuses every cookie issued for the owner, and only those', async () => {
    const { factory, login, whoIs, request, reasons } = setup()
    const laptop = await login('ann')
    const phone = await login('ann')
    const bob = await login('bob')
    const { cookie: guest } = await request(undefined, (s) => s.set('user', 'guest'))
    await factory.revokeSessions('ann')
    assert.equal(await whoIs(laptop), 'anonymous')
    assert.equal(await whoIs(phone), 'anonymous')
    assert.equal(await whoIs(bob), 'bob')
    assert.equal(await whoIs(guest!), 'guest')
    assert.deepEqual(reasons, ['revoked', 'revoked'])
    assert.equal(await whoIs(await login('ann')), 'ann', 'a later login works')
  })

  it('revokeSessions(owner, { except }) re-issues the current session under the new generation', async () => {
    const { factory, login, whoIs, request } = setup()
    const laptop = await login('ann')
    const phone = await login('ann')
    const { cookie: kept } = await request(laptop, async (session) => {
      await factory.revokeSessions('ann', { except: session })
    })
    assert.ok(kept !== undefined, 'the untouched session is re-issued')
    assert.notEqual(systemOf(kept).gen, systemOf(laptop).gen)
    assert.equal(systemOf(kept).sid, systemOf(laptop).sid)
    assert.equal(await whoIs(kept), 'ann')
    assert.equal(await whoIs(phone), 'anonymous')
    assert.equal(await whoIs(laptop), 'anonymous', 'the old copy of this device is refused')
  })

  it('does not keep an except session that another "log out everywhere" ended first', async () => {
    const { factory, login, whoIs, request } = setup()
    const stolen = await login('ann')
    // The thief's "log out other devices" request is under way (a password check, say) when
    // ann, on her laptop, logs out everywhere.
    const { cookie, headers } = await request(stolen, async (session) => {
      await factory.revokeSessions('ann')
      await factory.revokeSessions('ann', { except: session })
    })
    assert.equal(cookie, undefined, 'not re-issued under the new generation')
    assert.deepEqual(headers, [])
    assert.equal(await whoIs(stolen), 'anonymous')
  })

  it('does not keep an except session that logged out in another tab first', async () => {
    const { factory, login, whoIs, request } = setup()
    const cookie = await login('ann')
    const { cookie: kept } = await request(cookie, async (session) => {
      // Tab 1 logs out while tab 2's "log out other devices" is under way.
      await request(cookie, (other) => other.invalidate())
      await factory.revokeSessions('ann', { except: session })
    })
    assert.equal(kept, undefined)
    assert.equal(await whoIs(cookie), 'anonymous', 'the logged-out session stays ended')
  })

  it('keeps the session of a "log out other devices" sent twice before the first answer', async () => {
    const { factory, login, whoIs } = setup()
    const [laptop, phone] = [await login('ann'), await login('ann')]
    // A double click: both requests carry the cookie from before either call.
    const first = await factory.load(`session=${laptop}`)
    const second = await factory.load(`session=${laptop}`)
    await factory.revokeSessions('ann', { except: first })
    await factory.revokeSessions('ann', { except: second })
    await factory.commit(first)
    const answer = (await factory.commit(second)).find((header) => header.startsWith('session='))
    const kept = answer!.slice('session='.length, answer!.indexOf(';'))
    assert.equal(await whoIs(kept), 'ann', 'the second answer keeps the device that clicked')
    assert.equal(await whoIs(phone), 'anonymous')
    // A "log out everywhere" in between forgets the kept session: a late copy is not kept.
    const late = await factory.load(`session=${kept}`)
    await factory.revokeSessions('ann')
    await factory.revokeSessions('ann', { except: late })
    assert.deepEqual(await factory.commit(late), [])
    assert.equal(await whoIs(kept), 'anonymous')
  })

  it('moves the generation on with a random source that repeats itself', async () => {
    const { factory, login, whoIs } = setup(
      {},
      { randomBytes: (size) => new Uint8Array(size).fill(7) },
    )
    const cookie = await login('ann')
    await factory.revokeSessions('ann')
    assert.equal(await whoIs(cookie), 'anonymous')
  })

  it('keeps the except session of only one of two revokeSessions calls that overlap', async () => {
    const { factory, login, whoIs, request, store } = setup()
    const [laptop, phone] = [await login('ann'), await login('ann')]
    // Both calls read the owner record before either writes it. Its reads: the two loads, then
    // the two calls.
    const ownerRecord = createHash('sha256')
      .update('cloakroom/revocation/owner/session/ann')
      .digest('base64url')
    const get = store.get.bind(store)
    let reads = 0
    let release: () => void = () => {}
    const bothRead = new Promise<void>((resolve) => (release = resolve))
    store.get = async (key) => {
      const record = await get(key)
      if (key !== ownerRecord) return record
      reads++
      if (reads === 4) release()
      if (reads === 3 || reads === 4) await bothRead
      return record
    }
    const [fromLaptop, fromPhone] = await Promise.all([
      request(laptop, (session) => factory.revokeSessions('ann', { except: session })),
      request(phone, (session) => factory.revokeSessions('ann', { except: session })),
    ])
    store.get = get
    const kept = [fromLaptop.cookie, fromPhone.cookie].filter((cookie) => cookie !== undefined)
    assert.equal(kept.length, 1, 'one re-issued cookie')
    assert.equal(await whoIs(kept[0]!), 'ann')
    assert.equal(await whoIs(laptop), 'anonymous')
    assert.equal(await whoIs(phone), 'anonymous')
  })

  it('gives the new generation to a session that logs in and logs out the others at once', async () => {
    const { factory, login, whoIs, request } = setup()
    const phone = await login('ann')
    const { cookie } = await request(undefined, async (session) => {
      session.regenerate()
      session.setOwner('ann')
      session.set('user', 'ann')
      await factory.revokeSessions('ann', { except: session })
    })
    assert.equal(await whoIs(cookie!), 'ann')
    assert.equal(await whoIs(phone), 'anonymous')
  })

  it('does not let a regenerate racing revokeSessions(owner) keep the revoked device in', async () => {
    const { factory, login, whoIs, request } = setup()
    const phone = await login('ann')
    // The phone's request passed the revocation check; "log out everywhere" runs meanwhile.
    const session = await factory.load(`session=${phone}`)
    await request(await login('ann'), () => factory.revokeSessions('ann'))
    session.regenerate()
    const headers = await factory.commit(session)
    assert.deepEqual(
      headers.map((header) => header.slice(0, header.indexOf(';'))),
      ['session='],
      'the session ended meanwhile: its cookie is deleted, not re-issued',
    )
    assert.equal(await whoIs(phone), 'anonymous')
  })

  it('does not let a regenerate racing a logout bring the session back under a new id', async () => {
    for (const owned of [false, true]) {
      const { factory, whoIs, request } = setup()
      const { cookie: stolen } = await request(undefined, (s) => {
        s.set('user', 'ann')
        if (owned) s.setOwner('ann')
      })
      // This request passed the revocation check; the user logs out meanwhile.
      const session = await factory.load(`session=${stolen}`)
      await request(stolen, (s) => s.invalidate())
      session.regenerate()
      const headers = await factory.commit(session)
      assert.deepEqual(
        headers.map((header) => header.slice(0, header.indexOf(';'))),
        ['session='],
        `owned: ${owned}`,
      )
      assert.equal(await whoIs(stolen!), 'anonymous')
    }
  })

  it('keeps a session re-issued by revokeSessions(owner, { except }) when it also regenerates', async () => {
    const { factory, login, whoIs, request } = setup()
    const laptop = await login('ann')
    const { cookie } = await request(laptop, async (session) => {
      await factory.revokeSessions('ann', { except: session })
      session.regenerate()
    })
    assert.notEqual(systemOf(cookie!).sid, systemOf(laptop).sid)
    assert.equal(await whoIs(cookie!), 'ann')
    assert.equal(await whoIs(laptop), 'anonymous')
  })

  it('revokes nothing when the commit fails because the session is too large', async () => {
    const { factory, login, whoIs } = setup()
    const phone = await login('ann')
    const session = await factory.load(`session=${phone}`)
    session.regenerate()
    session.set('user', 'x'.repeat(5000))
    await assert.rejects(
      Promise.resolve().then(() => factory.commit(session)),
      (error: unknown) => (error as { code?: string }).code === 'ERR_COOKIE_TOO_LARGE',
    )
    assert.equal(await whoIs(phone), 'ann', 'the request failed: the session it came with lives on')
  })

  it('refuses revokeSessions with an except session that was already committed', async () => {
    const { factory, login } = setup()
    const cookie = await login('ann')
    const session = await factory.load(`session=${cookie}`)
    void session.get('user')
    await factory.commit(session)
    await assert.rejects(factory.revokeSessions('ann', { except: session }), (error) => {
      assert.ok(error instanceof SessionCommittedError)
      assert.equal(error.code, 'ERR_SESSION_COMMITTED')
      return true
    })
  })

  it('does not let a login whose owner-record create lands late bring revoked cookies back', async () => {
    for (const end of ['revokeSessions', 'logout'] as const) {
      // Holds the first write of the owner record (its create) until released.
      let held: (() => void) | undefined
      const heldCreate = new Promise<void>((resolve) => (held = resolve))
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      const memory = createMemoryStore({ now: () => START, sweepIntervalMs: null })
      const store: SessionStore = Object.assign(Object.create(memory) as SessionStore, {
        set: async (...args: Parameters<SessionStore['set']>) => {
          if (held !== undefined && args[0] === ownerKey('ann')) {
            held()
            held = undefined
            await released
          }
          return memory.set(...args)
        },
      })
      const { factory, login, whoIs, request } = setup({ store })
      // Device A logs in first: no owner record yet, and its create is slow to land.
      const first = await factory.load(undefined)
      first.regenerate()
      first.setOwner('ann')
      first.set('user', 'ann')
      const committed = factory.commit(first)
      await heldCreate
      // Device B logs in meanwhile, creating the record, and is then ended on the server.
      const deviceB = await login('ann')
      if (end === 'revokeSessions') await factory.revokeSessions('ann')
      else await request(deviceB, (s) => s.invalidate())
      assert.equal(await whoIs(deviceB), 'anonymous', end)
      release()
      const headers = await committed
      const deviceA = headers[0]!.slice('session='.length, headers[0]!.indexOf(';'))
      assert.equal(await whoIs(deviceB), 'anonymous', `${end}: still ended once A's create landed`)
      assert.equal(await whoIs(deviceA), 'ann', `${end}: the late login itself works`)
    }
  })

  it('gives two logins that create the owner record at once the same generation', async () => {
    const { factory, whoIs } = setup()
    const sessions = [await factory.load(undefined), await factory.load(undefined)]
    for (const session of sessions) {
      session.regenerate()
      session.setOwner('ann')
      session.set('user', 'ann')
    }
    const cookies = (await Promise.all(sessions.map(async (s) => factory.commit(s)))).map(
      (headers) => headers[0]!.slice('session='.length, headers[0]!.indexOf(';')),
    )
    assert.equal(systemOf(cookies[0]!).gen, systemOf(cookies[1]!).gen)
    assert.deepEqual([await whoIs(cookies[0]!), await whoIs(cookies[1]!)], ['ann', 'ann'])
  })

  it('refuses an owned cookie whose owner record is gone (fail closed)', async () => {
    const { store, login, whoIs, reasons } = setup()
    const cookie = await login('ann')
    await store.delete(ownerKey('ann'))
    assert.equal(await whoIs(cookie), 'anonymous')
    assert.deepEqual(reasons, ['revoked'])
  })

  it('records an owned logout in the owner record and drops expired entries later', async () => {
    const { store, clock, login, request } = setup({ absoluteTimeout: 3600 })
    const first = await login('ann')
    await request(first, (s) => s.invalidate())
    const record = await store.get(ownerKey('ann'))
    assert.deepEqual(Object.keys(record!.system).sort(), [
      'gen',
      `r:${String(systemOf(first).sid)}`,
    ])
    clock.now += 3_600_000 + 60_001
    const second = await login('ann')
    await request(second, (s) => s.invalidate())
    const after = await store.get(ownerKey('ann'))
    assert.deepEqual(Object.keys(after!.system).sort(), [
      'gen',
      `r:${String(systemOf(second).sid)}`,
    ])
  })

  it('keeps revoked markers until the absolute timeout (plus a minute), then lets them expire', async () => {
    const { clock, request, store } = setup({ absoluteTimeout: 3600, timeout: null })
    const memory = store as MemoryStore
    const { cookie } = await request(undefined, (s) => s.set('n', 1))
    clock.now += 1000
    await request(cookie, (s) => s.invalidate())
    assert.equal(memory.size, 1)
    clock.now = START + 3_600_000 + 60_000 - 1
    assert.equal(await memory.prune(), 0, 'still there within the deadline')
    clock.now += 1
    assert.equal(await memory.prune(), 1)
    assert.equal(memory.size, 0)
  })

  it('treats a null absoluteTimeout as 400 days', async () => {
    const { request, clock, reasons } = setup({ absoluteTimeout: null, timeout: null })
    const { cookie } = await request(undefined, (s) => s.set('n', 1))
    clock.now += 399 * DAY
    await request(cookie, (s) => assert.equal(s.get('n'), 1))
    clock.now += 2 * DAY
    await request(cookie, (s) => assert.equal(s.isNew, true))
    assert.deepEqual(reasons, ['expired'])
  })

  it('refuses a cookie issued without revocation, and drops the id when revocation is off', async () => {
    const plain = createSignedCookieFactory<Data>({ secrets: SECRET, now: () => START })
    const session = plain.load(undefined) as Session<Data>
    session.set('n', 1)
    const plainCookie = (plain.commit(session) as readonly string[])[0]!.split(';')[0]!
    const { factory, request, reasons } = setup()
    await request(plainCookie.slice('session='.length), (s) => assert.equal(s.isNew, true))
    assert.deepEqual(reasons, ['revoked'])

    const revocable = (await request(undefined, (s) => s.set('n', 2))).cookie!
    const back = plain.load(`session=${revocable}`) as Session<Data>
    assert.equal(back.get('n'), 2)
    back.set('n', 3)
    const rewritten = (plain.commit(back) as readonly string[])[0]!
    assert.equal(
      systemOf(rewritten.slice('session='.length, rewritten.indexOf(';'))).sid,
      undefined,
    )
    assert.equal(typeof factory.revokeSessions, 'function')
    assert.equal('revokeSessions' in plain, false)
  })

  it('works the same with the encrypted factory', async () => {
    const store = createMemoryStore({ sweepIntervalMs: null, now: () => START })
    const factory: RevocableSessionFactory<Data> = createEncryptedCookieFactory<Data>({
      secrets: SECRET,
      now: () => START,
      revocation: { store },
    })
    const commitValue = async (
      f: SessionFactory<Data>,
      session: Session<Data>,
    ): Promise<string> => {
      const header = (await f.commit(session))[0]!
      return header.slice(0, header.indexOf(';'))
    }
    const fresh = await factory.load(undefined)
    fresh.setOwner('ann')
    fresh.set('user', 'ann')
    const cookie = await commitValue(factory, fresh)
    assert.equal((await factory.load(cookie)).get('user'), 'ann')
    await factory.revokeSessions('ann')
    assert.equal((await factory.load(cookie)).get('user'), undefined)
  })

  it('fails the load with StoreUnavailableError when the store is down', async () => {
    const inner = createMemoryStore({ sweepIntervalMs: null })
    const broken = { ...inner, get: () => Promise.reject(new Error('ECONNREFUSED')) }
    const { factory, request } = setup({ store: broken })
    const { cookie } = await request(undefined, (s) => s.set('n', 1))
    await assert.rejects(Promise.resolve(factory.load(`session=${cookie}`)), (error) => {
      assert.ok(error instanceof StoreUnavailableError)
      assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
      assert.equal((error.cause as Error).message, 'ECONNREFUSED')
      return true
    })
  })

  it('fails the load when the store does not answer within storeTimeout', async () => {
    const inner = createMemoryStore({ sweepIntervalMs: null })
    const hung = { ...inner, get: () => new Promise<undefined>(() => {}) }
    const { factory, request } = setup({ store: hung }, { storeTimeout: 5 })
    const { cookie } = await request(undefined, (s) => s.set('n', 1))
    await assert.rejects(Promise.resolve(factory.load(`session=${cookie}`)), {
      code: 'ERR_STORE_UNAVAILABLE',
    })
  })

  it('fails a logout with StoreUnavailableError when the revocation cannot be written', async () => {
    const inner = createMemoryStore({ sweepIntervalMs: null })
    const readOnly = { ...inner, set: () => Promise.reject(new Error('READONLY')) }
    const { factory, request } = setup({ store: readOnly })
    const cookie = (await request(undefined, (s) => s.set('n', 1))).cookie
    const loaded = await factory.load(`session=${cookie}`)
    loaded.invalidate()
    await assert.rejects(Promise.resolve(factory.commit(loaded)), { code: 'ERR_STORE_UNAVAILABLE' })
  })

  it('refuses invalid revocation options at construction', () => {
    const cases: [string, unknown][] = [
      ['revocation.store', {}],
      ['revocation.store', { store: { get: () => undefined } }],
      ['revocation.storeTimeout', { store: createMemoryStore(), storeTimeout: 0 }],
      ['revocation.randomBytes', { store: createMemoryStore(), randomBytes: 'x' }],
      ['revocation', null],
    ]
    for (const [option, revocation] of cases) {
      assert.throws(
        () =>
          createSignedCookieFactory({
            secrets: SECRET,
            revocation: revocation as CookieRevocationOptions,
          }),
        (error) => error instanceof ConfigError && error.option === option,
        option,
      )
    }
  })

  it('refuses randomness that does not give 16 bytes', async () => {
    const { request } = setup({}, { randomBytes: () => new Uint8Array(4) })
    await assert.rejects(
      request(undefined, (s) => s.set('n', 1)),
      (error) => error instanceof ConfigError && error.option === 'revocation.randomBytes',
    )
  })
})
