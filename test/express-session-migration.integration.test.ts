import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { RedisStore } from 'connect-redis'
import express from 'express'
import session from 'express-session'
import {
  adoptExpressSessions,
  ConfigError,
  createMemoryStore,
  createStoreFactory,
  fromExpressSessionStore,
  StoreUnavailableError,
  type SessionAdopter,
} from '../src/index.js'
import { withSession } from '../src/node.js'
import {
  LEGACY_SECRET as SECRET,
  expressSessionCookie as expressSession,
  readLegacy,
  sidOf,
  signLegacy as sign,
} from './helpers/express-session.js'
import { CookieJar, startServer, type RawResponse } from './helpers/http.js'
import { serviceSkip, sharedRedisClient, uniqueName } from './helpers/services.js'

const T0 = Date.UTC(2025, 0, 1)

describe('createStoreFactory({ adopt })', () => {
  function setup(
    options: { onStoreError?: 'fail' | 'fresh-session'; adopt?: SessionAdopter } = {},
  ) {
    let time = T0
    const legacy = new session.MemoryStore()
    const store = createMemoryStore({ sweepIntervalMs: null, now: () => time })
    const factory = createStoreFactory<Record<string, unknown>>({
      store,
      now: () => time,
      adopt: options.adopt ?? adoptExpressSessions({ store: legacy, secret: SECRET }),
      ...(options.onStoreError === undefined ? {} : { onStoreError: options.onStoreError }),
    })
    /** One request: load with `cookie`, let `handle` use the session, commit. */
    const request = async (
      cookie: string | undefined,
      handle: (s: Awaited<ReturnType<typeof factory.load>>) => void = () => undefined,
    ) => {
      const loaded = await factory.load(cookie)
      handle(loaded)
      const headers = await factory.commit(loaded)
      const sent = headers.find((header) => header.startsWith('session='))
      const id = sent?.slice('session='.length).split(';')[0]
      return { session: loaded, headers, id: id === '' ? undefined : id }
    }
    return { factory, legacy, store, request, advance: (ms: number) => void (time += ms) }
  }
  const legacyCookie = (value: string): string => `connect.sid=${encodeURIComponent(value)}`

  it('adopts a legacy session under a new id and deletes the legacy cookie and record', async () => {
    const { legacy, request } = setup()
    const value = await expressSession(legacy, { counter: 3 })
    let seen: unknown
    const first = await request(legacyCookie(value), (s) => {
      seen = s.get('counter')
      assert.equal(s.isNew, false)
      assert.equal(s.created, T0, 'the absolute timeout starts at adoption')
    })
    assert.equal(seen, 3)
    assert.match(first.id!, /^[A-Za-z0-9_-]{43}$/)
    assert.notEqual(first.id, sidOf(value))
    assert.ok(
      first.headers.includes(
        'connect.sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; Secure; SameSite=Lax',
      ),
      first.headers.join('\n'),
    )
    assert.equal(await readLegacy(legacy, sidOf(value)), undefined, 'the legacy record is gone')
    const second = await request(`session=${first.id}`, (s) => (seen = s.get('counter')))
    assert.equal(seen, 3)
    assert.deepEqual(second.headers, [])
    const replay = await request(legacyCookie(value), (s) => (seen = s.get('counter')))
    assert.equal(seen, undefined, 'the legacy cookie cannot be replayed')
    assert.deepEqual(replay.headers, [])
  })

  it('saves the changes the adopting request made', async () => {
    const { legacy, request } = setup()
    const value = await expressSession(legacy, { counter: 3 })
    const first = await request(legacyCookie(value), (s) => s.set('counter', 4))
    let seen: unknown
    await request(`session=${first.id}`, (s) => (seen = s.get('counter')))
    assert.equal(seen, 4)
  })

  it('never consults the adopter when the request has a valid Cloakroom session', async () => {
    let loads = 0
    const adopter: SessionAdopter = {
      cookieNames: ['connect.sid'],
      load: () => {
        loads++
        return Promise.resolve({ data: { user: 'mallory' } })
      },
    }
    const { request } = setup({ adopt: adopter })
    const { id } = await request(undefined, (s) => s.set('user', 'ada'))
    let seen: unknown
    const both = await request(`session=${id}; connect.sid=s%3Aanything.sig`, (s) => {
      seen = s.get('user')
      s.set('visits', 1)
    })
    assert.equal(seen, 'ada')
    assert.equal(loads, 0)
    assert.ok(!both.headers.some((header) => header.startsWith('connect.sid=')))
  })

  it('adopts when the Cloakroom cookie names no session', async () => {
    const { legacy, request } = setup()
    const value = await expressSession(legacy, { counter: 3 })
    let seen: unknown
    await request(`session=${'a'.repeat(43)}; ${legacyCookie(value)}`, (s) => {
      seen = s.get('counter')
    })
    assert.equal(seen, 3)
  })

  it('gives a forged legacy cookie a fresh session and leaves it alone', async () => {
    const { legacy, request } = setup()
    const value = await expressSession(legacy, { counter: 3 })
    let seen: unknown
    const forged = await request(legacyCookie(sign(sidOf(value), 'guess')), (s) => {
      seen = s.get('counter')
    })
    assert.equal(seen, undefined)
    assert.deepEqual(forged.headers, [])
    assert.ok(await readLegacy(legacy, sidOf(value)), 'the real session is untouched')
  })

  it('ends the legacy session too when an adopted session is invalidated', async () => {
    const { legacy, request } = setup()
    const value = await expressSession(legacy, { counter: 3 })
    const { headers, id } = await request(legacyCookie(value), (s) => s.invalidate())
    assert.equal(id, undefined)
    assert.ok(headers.some((header) => header.startsWith('connect.sid=; Max-Age=0')))
    assert.equal(await readLegacy(legacy, sidOf(value)), undefined)
  })

  it('records the owner the adopter gives, for listSessions', async () => {
    const legacy = new session.MemoryStore()
    const factory = createStoreFactory({
      store: createMemoryStore({ sweepIntervalMs: null }),
      adopt: adoptExpressSessions({
        store: legacy,
        secret: SECRET,
        ownerOf: (data) => (data.passport as { user?: string } | undefined)?.user,
      }),
    })
    const value = await expressSession(legacy, { passport: { user: 'u1' } })
    const adopted = await factory.load(legacyCookie(value))
    assert.equal(adopted.owner, 'u1')
    await factory.commit(adopted)
    assert.equal((await factory.listSessions('u1')).length, 1)
  })

  it('refuses a legacy session whose owner stores cannot index, as it refuses one it cannot save', async () => {
    const reasons: string[] = []
    const owners = ['u\u0000ser', '\ud800', 'x'.repeat(513), 'u1']
    const factory = createStoreFactory({
      store: createMemoryStore({ sweepIntervalMs: null }),
      onInvalidCookie: (reason) => reasons.push(reason),
      adopt: {
        cookieNames: ['legacy'],
        load: (cookies) =>
          Promise.resolve({ data: { counter: 3 }, owner: owners[Number(cookies.legacy)] }),
      },
    })
    for (const index of [0, 1, 2]) {
      const adopted = await factory.load(`legacy=${index}`)
      assert.equal(adopted.isNew, true, `owner ${index}`)
      assert.equal(adopted.get('counter'), undefined)
    }
    assert.deepEqual(reasons, ['malformed', 'malformed', 'malformed'])
    const valid = await factory.load('legacy=3')
    assert.equal(valid.owner, 'u1')
    assert.equal(valid.get('counter'), 3)
  })

  it('deletes the legacy cookie on the path and domain it was set with', async () => {
    const legacy = new session.MemoryStore()
    const factory = createStoreFactory({
      store: createMemoryStore({ sweepIntervalMs: null }),
      secure: false,
      adopt: adoptExpressSessions({
        store: legacy,
        secret: SECRET,
        cookiePath: '/app',
        cookieDomain: 'example.com',
      }),
    })
    const value = await expressSession(legacy, { counter: 3 })
    const adopted = await factory.load(legacyCookie(value))
    const headers = await factory.commit(adopted)
    assert.ok(
      headers.includes(
        'connect.sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Domain=example.com; Path=/app; HttpOnly; SameSite=Lax',
      ),
      headers.join('\n'),
    )
  })

  it('treats a failing legacy store as a store outage, under onStoreError', async () => {
    const broken: SessionAdopter = {
      cookieNames: ['connect.sid'],
      load: () => Promise.reject(new Error('connection refused')),
    }
    const failing = setup({ adopt: broken })
    await assert.rejects(
      Promise.resolve(failing.factory.load('connect.sid=s%3Aabc.def')),
      (error: unknown) =>
        error instanceof StoreUnavailableError && error.code === 'ERR_STORE_UNAVAILABLE',
    )
    const degraded = setup({ adopt: broken, onStoreError: 'fresh-session' })
    const { session: served, headers } = await degraded.request('connect.sid=s%3Aabc.def', (s) =>
      s.set('a', 1),
    )
    assert.equal(served.isNew, true)
    assert.deepEqual(headers, [])
  })

  it('keeps the legacy session when the new one cannot be saved', async () => {
    const { legacy, store, factory } = setup()
    const value = await expressSession(legacy, { counter: 3 })
    const adopted = await factory.load(legacyCookie(value))
    store.set = () => Promise.reject(new Error('disk full'))
    await assert.rejects(Promise.resolve(factory.commit(adopted)), StoreUnavailableError)
    assert.ok(await readLegacy(legacy, sidOf(value)), 'the user can try again')
  })

  it('refuses an adopter whose cookie shares the Cloakroom cookie name, or is no adopter', () => {
    const store = createMemoryStore({ sweepIntervalMs: null })
    const legacy = new session.MemoryStore()
    const cases: [string, () => unknown][] = [
      [
        'adopt.cookieNames[0]',
        () =>
          createStoreFactory({
            store,
            cookieName: 'connect.sid',
            adopt: adoptExpressSessions({ store: legacy, secret: SECRET }),
          }),
      ],
      ['adopt', () => createStoreFactory({ store, adopt: {} as SessionAdopter })],
      [
        'adopt.cookiePath',
        () =>
          createStoreFactory({
            store,
            adopt: adoptExpressSessions({ store: legacy, secret: SECRET, cookiePath: 'app' }),
          }),
      ],
    ]
    for (const [option, create] of cases) {
      assert.throws(create, (error: unknown) => {
        assert.ok(error instanceof ConfigError, option)
        assert.equal(error.option, option)
        return true
      })
    }
  })
})

const skip = await serviceSkip('redis')
const prefix = `${uniqueName()}:`

const redis = sharedRedisClient(prefix)

/** The body of the apps below: the counter they saw, and whether the session was new. */
interface Seen {
  readonly counter: number | null
  readonly isNew: boolean
}
const seen = (response: RawResponse): Seen => JSON.parse(response.body) as Seen

describe('migrating from express-session (Express 5, connect-redis, real Redis)', () => {
  it(
    'keeps the session of an express-session user, then deletes connect.sid and the old record',
    { skip },
    async () => {
      const legacyStore = new RedisStore({ client: await redis(), prefix })
      // The application as it was: Express 5 + express-session + connect-redis.
      const before = express()
      before.use(
        session({ secret: SECRET, store: legacyStore, resave: false, saveUninitialized: false }),
      )
      before.get('/', (req, res) => {
        const data = req.session as unknown as { counter?: number }
        data.counter = (data.counter ?? 0) + 1
        res.json({ counter: data.counter, isNew: false })
      })
      // The application after the switch: Cloakroom on node:http, sessions in the same Redis.
      const factory = createStoreFactory({
        store: fromExpressSessionStore(legacyStore),
        adopt: adoptExpressSessions({ store: legacyStore, secret: SECRET }),
      })
      const afterSwitch = withSession(factory, (req, res) => {
        const counter = req.session.get('counter')
        if (req.url === '/increment') req.session.set('counter', Number(counter) + 1)
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ counter: counter ?? null, isNew: req.session.isNew }))
      })
      const oldServer = await startServer((req, res) => void before(req, res))
      const newServer = await startServer(afterSwitch)
      try {
        const jar = new CookieJar()
        for (let visit = 1; visit <= 3; visit++) await jar.fetch(`${oldServer.url}/`)
        const legacyValue = jar.get('connect.sid')!
        assert.match(legacyValue, /^s%3A/, 'express-session sent a signed, URL-encoded cookie')
        const sid = sidOf(decodeURIComponent(legacyValue))
        assert.ok(await (await redis()).exists(`${prefix}${sid}`), 'connect-redis holds it')

        const switched = await jar.fetch(`${newServer.url}/`)
        assert.equal(switched.status, 200)
        assert.deepEqual(seen(switched), { counter: 3, isNew: false })
        const newCookie = switched.setCookies.find((header) => header.startsWith('session='))
        assert.match(newCookie ?? '', /^session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure/)
        assert.ok(
          switched.setCookies.includes(
            'connect.sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; Secure; SameSite=Lax',
          ),
          switched.setCookies.join('\n'),
        )
        assert.equal(jar.get('connect.sid'), undefined, 'the browser dropped connect.sid')
        assert.equal(await (await redis()).exists(`${prefix}${sid}`), 0, 'the old record is gone')
        const id = jar.get('session')!
        const idHash = createHash('sha256').update(id).digest('base64url')
        assert.ok(await (await redis()).exists(`${prefix}${idHash}`), 'saved under the new id')

        const next = await jar.fetch(`${newServer.url}/increment`)
        assert.deepEqual(seen(next), { counter: 3, isNew: false })
        assert.deepEqual(seen(await jar.fetch(`${newServer.url}/`)), { counter: 4, isNew: false })

        const replay = new CookieJar()
        replay.update([`connect.sid=${legacyValue}`])
        const replayed = await replay.fetch(`${newServer.url}/`)
        assert.deepEqual(seen(replayed), { counter: null, isNew: true }, 'no replay')
      } finally {
        await oldServer.close()
        await newServer.close()
      }
    },
  )

  it('gives a forged or unsigned connect.sid a fresh session', { skip }, async () => {
    const legacyStore = new RedisStore({ client: await redis(), prefix })
    const value = await expressSession(legacyStore, { counter: 3 })
    const sid = sidOf(value)
    const factory = createStoreFactory({
      store: createMemoryStore(),
      adopt: adoptExpressSessions({ store: legacyStore, secret: SECRET }),
    })
    const server = await startServer(
      withSession(factory, (req, res) => {
        const counter = req.session.get('counter')
        req.session.set('visited', true)
        res.end(JSON.stringify({ counter: counter ?? null, isNew: req.session.isNew }))
      }),
    )
    try {
      const forgeries: [string, string][] = [
        ['a wrong signature', sign(sid, 'not the secret')],
        ['the signature of another sid', `s:${sid}x${value.slice(value.lastIndexOf('.'))}`],
        ['an unsigned sid (s: missing)', sid],
        ['s: without a signature', `s:${sid}`],
      ]
      for (const [label, forged] of forgeries) {
        const jar = new CookieJar()
        jar.update([`connect.sid=${encodeURIComponent(forged)}`])
        const response = await jar.fetch(`${server.url}/`)
        assert.deepEqual(seen(response), { counter: null, isNew: true }, label)
        assert.ok(
          !response.setCookies.some((header) => header.startsWith('connect.sid=')),
          `${label}: the forged cookie is left alone`,
        )
      }
      assert.ok(await (await redis()).exists(`${prefix}${sid}`), 'the real session is untouched')
    } finally {
      await server.close()
    }
  })
})
