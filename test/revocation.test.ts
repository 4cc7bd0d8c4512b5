import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import {
  createMemoryStore,
  createSignedCookieFactory,
  type InvalidCookieReason,
  type MemoryStore,
  type RevocableSessionFactory,
  type SessionStore,
} from 'cloakroom'
import { withSession } from 'cloakroom/node'
import { createSqliteStore } from 'cloakroom/sqlite'
import { CookieJar, startServer, type TestServer } from './helpers/http.js'

interface Data {
  user?: string
}

const SECRET = 'v'.repeat(32)
const START = 1_800_000_000_000
const HOUR = 3_600_000

/** A real server with a revocable signed-cookie factory, the injected clock and its store. */
interface App {
  readonly server: TestServer
  readonly clock: { now: number }
  readonly reasons: InvalidCookieReason[]
  readonly factory: RevocableSessionFactory<Data>
  /** A jar's `GET path`, returning the body. */
  get(jar: CookieJar, path: string): Promise<string>
}

const servers: TestServer[] = []
const stores: SessionStore[] = []
after(async () => {
  await Promise.all(servers.map((server) => server.close()))
  for (const store of stores) await store.close?.()
})

async function startApp(makeStore: (now: () => number) => SessionStore): Promise<App> {
  const clock = { now: START }
  const now = (): number => clock.now
  const reasons: InvalidCookieReason[] = []
  const store = makeStore(now)
  stores.push(store)
  const factory = createSignedCookieFactory<Data>({
    secrets: SECRET,
    secure: false,
    now,
    absoluteTimeout: 8 * 3600,
    timeout: null,
    onInvalidCookie: (reason) => reasons.push(reason),
    revocation: { store },
  })
  const server = await startServer(
    withSession(
      factory,
      async (req, res) => {
        const url = new URL(req.url!, 'http://x')
        const session = req.session
        const owner = session.owner
        switch (url.pathname) {
          case '/login': {
            const user = url.searchParams.get('user')!
            session.regenerate()
            session.setOwner(user)
            session.set('user', user)
            break
          }
          case '/remember':
            session.set('user', url.searchParams.get('user')!)
            break
          case '/logout':
            session.invalidate()
            break
          case '/logout-everywhere':
            if (owner !== undefined) await factory.revokeSessions(owner)
            break
          case '/logout-others':
            if (owner !== undefined) await factory.revokeSessions(owner, { except: session })
            break
        }
        res.end(session.get('user') ?? 'anonymous')
      },
      { onError: () => {} },
    ),
  )
  servers.push(server)
  const get = async (jar: CookieJar, path: string): Promise<string> => {
    const response = await jar.fetch(`${server.url}${path}`)
    return response.status === 200 ? response.body : `status ${response.status}`
  }
  return { server, clock, reasons, factory, get }
}

/** A second browser holding a copy of `jar`'s session cookie (a stolen or saved cookie). */
function copyOf(jar: CookieJar): CookieJar {
  const value = jar.get('session')
  assert.ok(value !== undefined, 'the jar holds a session cookie')
  const copy = new CookieJar()
  copy.update([`session=${value}`])
  return copy
}

const memory = (now: () => number): SessionStore => createMemoryStore({ now })
const sqlite = (now: () => number): SessionStore => createSqliteStore({ database: ':memory:', now })

async function replayAfterLogout(app: App): Promise<void> {
  const browser = new CookieJar()
  assert.equal(await app.get(browser, '/login?user=ann'), 'ann')
  const stolen = copyOf(browser)
  assert.equal(await app.get(stolen, '/whoami'), 'ann', 'the copy works before logout')
  app.clock.now += 60_000
  assert.equal(await app.get(browser, '/logout'), 'anonymous')
  assert.equal(browser.get('session'), undefined, 'the browser drops its cookie')
  assert.equal(await app.get(stolen, '/whoami'), 'anonymous')
  assert.deepEqual(app.reasons, ['revoked'])
}

async function replayAfterLogoutEverywhere(app: App): Promise<void> {
  const laptop = new CookieJar()
  const phone = new CookieJar()
  const other = new CookieJar()
  await app.get(laptop, '/login?user=ann')
  await app.get(phone, '/login?user=ann')
  await app.get(other, '/login?user=bob')
  const laptopCopy = copyOf(laptop)
  app.clock.now += 60_000
  assert.equal(await app.get(phone, '/logout-everywhere'), 'ann', 'the request itself still ran')
  assert.equal(await app.get(laptop, '/whoami'), 'anonymous')
  assert.equal(await app.get(laptopCopy, '/whoami'), 'anonymous')
  assert.equal(await app.get(phone, '/whoami'), 'anonymous')
  assert.equal(await app.get(other, '/whoami'), 'bob', "another user's session is untouched")
  assert.deepEqual(app.reasons, ['revoked', 'revoked', 'revoked'])
}

async function logoutOthersKeepsThisDevice(app: App): Promise<void> {
  const laptop = new CookieJar()
  const phone = new CookieJar()
  await app.get(laptop, '/login?user=ann')
  await app.get(phone, '/login?user=ann')
  const laptopBefore = copyOf(laptop)
  app.clock.now += 60_000
  assert.equal(await app.get(laptop, '/logout-others'), 'ann')
  assert.notEqual(laptop.get('session'), laptopBefore.get('session'), 'the cookie was re-issued')
  assert.equal(await app.get(laptop, '/whoami'), 'ann')
  assert.equal(await app.get(phone, '/whoami'), 'anonymous')
  assert.equal(await app.get(laptopBefore, '/whoami'), 'anonymous', 'the pre-revocation copy too')
}

describe('revocable cookie sessions over HTTP (memory store)', () => {
  it('gives a fresh session to a cookie replayed after logout', async () => {
    await replayAfterLogout(await startApp(memory))
  })

  it('gives fresh sessions to every cookie of the user after "log out everywhere"', async () => {
    await replayAfterLogoutEverywhere(await startApp(memory))
  })

  it('keeps the current device with revokeSessions(owner, { except })', async () => {
    await logoutOthersKeepsThisDevice(await startApp(memory))
  })

  it('keeps a revoked marker until the absolute timeout, then lets it expire', async () => {
    let store: MemoryStore | undefined
    const app = await startApp((now) => (store = createMemoryStore({ now, sweepIntervalMs: null })))
    const browser = new CookieJar()
    // No owner: the revocation is a record of its own.
    assert.equal(await app.get(browser, '/remember?user=ann'), 'ann')
    const stolen = copyOf(browser)
    app.clock.now += HOUR
    await app.get(browser, '/logout')
    assert.equal(store!.size, 1)
    app.clock.now = START + 8 * HOUR
    assert.equal(await app.get(stolen, '/whoami'), 'anonymous')
    assert.equal(app.reasons.at(-1), 'revoked', 'refused at the last moment of its lifetime')
    app.clock.now += 60_000
    assert.equal(await store!.prune(), 1, 'the marker has expired (a minute after, for clock skew)')
    assert.equal(store!.size, 0)
    assert.equal(await app.get(stolen, '/whoami'), 'anonymous')
    assert.equal(app.reasons.at(-1), 'expired', 'the cookie itself is past its absolute timeout')
  })

  it('costs one store read per request that carries a cookie, and none without one', async () => {
    const counts = { get: 0, writes: 0 }
    const app = await startApp((now) => {
      const inner = createMemoryStore({ now })
      const counted: SessionStore = {
        ...inner,
        get: (key) => {
          counts.get++
          return inner.get(key)
        },
        set: (...args) => {
          counts.writes++
          return inner.set(...args)
        },
        patch: (...args) => {
          counts.writes++
          return inner.patch(...args)
        },
        touch: (...args) => {
          counts.writes++
          return inner.touch(...args)
        },
      }
      return counted
    })
    const anonymous = new CookieJar()
    await app.get(anonymous, '/whoami')
    assert.deepEqual(counts, { get: 0, writes: 0 }, 'no cookie, no store call')
    const owned = new CookieJar()
    await app.get(owned, '/login?user=ann')
    const afterLogin = { ...counts }
    for (let i = 0; i < 5; i++) assert.equal(await app.get(owned, '/whoami'), 'ann')
    assert.deepEqual(counts, { get: afterLogin.get + 5, writes: afterLogin.writes })
  })
})

describe('revocable cookie sessions over HTTP (SQLite store)', () => {
  it('gives a fresh session to a cookie replayed after logout', async () => {
    await replayAfterLogout(await startApp(sqlite))
  })

  it('gives fresh sessions to every cookie of the user after "log out everywhere"', async () => {
    await replayAfterLogoutEverywhere(await startApp(sqlite))
  })

  it('keeps the current device with revokeSessions(owner, { except })', async () => {
    await logoutOthersKeepsThisDevice(await startApp(sqlite))
  })
})

describe('revocable cookie sessions over HTTP (store unavailable)', () => {
  it('answers 503 to a request with a cookie rather than accept it unchecked', async () => {
    const down = { value: false }
    const app = await startApp((now) => {
      const inner = createMemoryStore({ now })
      return {
        ...inner,
        get: (key) => (down.value ? Promise.reject(new Error('ECONNREFUSED')) : inner.get(key)),
      }
    })
    const browser = new CookieJar()
    await app.get(browser, '/login?user=ann')
    down.value = true
    assert.equal(await app.get(browser, '/whoami'), 'status 503')
    assert.equal(await app.get(new CookieJar(), '/whoami'), 'anonymous', 'no cookie, no store read')
    down.value = false
    assert.equal(await app.get(browser, '/whoami'), 'ann', 'back once the store is')
  })
})
