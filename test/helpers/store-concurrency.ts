import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { afterEach, describe, it } from 'node:test'
import { createStoreFactory, type SessionStore } from 'cloakroom'
import { withSession } from 'cloakroom/node'
import { CookieJar, rawRequest, startServer, type TestServer } from './http.js'
import { recordingStore, type RecordingStore } from './recording-store.js'

/** Options of {@link runStoreConcurrencySuite}. */
export interface StoreConcurrencyOptions {
  /** Skip the suite with this reason (a server that is not reachable). */
  readonly skip?: boolean | string
  /** Called after each test with the store it used, after `close()`. */
  readonly cleanup?: (store: SessionStore) => Promise<void> | void
}

/** A held request: resolves `entered` once the handler runs, finishes when `release` is called. */
interface Gate {
  entered: Promise<void>
  enter: () => void
  release: () => void
  released: Promise<void>
}

function gate(): Gate {
  let enter!: () => void
  let release!: () => void
  const entered = new Promise<void>((resolve) => (enter = resolve))
  const released = new Promise<void>((resolve) => (release = resolve))
  return { entered, enter, release, released }
}

const hash = (id: string): string => createHash('sha256').update(id).digest('base64url')

interface App {
  readonly server: TestServer
  readonly recorder: RecordingStore
  /** Completed store writes and client-side events, in order. */
  readonly events: string[]
  readonly gates: Map<string, Gate>
  /** Errors the adapter reported; none are expected. */
  readonly errors: unknown[]
  /** Makes the next `count` requests to /set wait for each other after loading. */
  holdWrites(count: number): void
}

interface Barrier {
  arrive(): Promise<void>
}

function createBarrier(count: number): Barrier {
  let arrived = 0
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return {
    arrive: () => {
      if (++arrived === count) open()
      return opened
    },
  }
}

/**
 * Runs the HTTP concurrency tests (real `node:http` server, `withSession`, store factory) against
 * one store: parallel patches, a slow request racing a logout, regenerate, read-only cost, and
 * redirect-after-write.
 *
 * @param name the store's name
 * @param makeStore returns a fresh store for one test
 * @param options skipping and cleanup
 */
export function runStoreConcurrencySuite(
  name: string,
  makeStore: () => Promise<SessionStore> | SessionStore,
  options: StoreConcurrencyOptions = {},
): void {
  const running: { app: App; store: SessionStore }[] = []

  const startApp = async (): Promise<App> => {
    const store = await makeStore()
    const events: string[] = []
    const logged: SessionStore = {
      ...store,
      get: (id) => store.get(id),
      set: async (...args) => {
        const done = await store.set(...args)
        events.push('write')
        return done
      },
      patch: async (...args) => {
        const done = await store.patch(...args)
        events.push('write')
        return done
      },
      touch: (...args) => store.touch(...args),
      delete: (id) => store.delete(id),
      listByOwner: (owner) => store.listByOwner(owner),
      deleteByOwner: (owner, except) => store.deleteByOwner(owner, except),
    }
    const recorder = recordingStore(logged)
    const gates = new Map<string, Gate>()
    const errors: unknown[] = []
    let barrier: Barrier | undefined
    const factory = createStoreFactory<Record<string, unknown>>({
      store: recorder.store,
      secure: false,
      reissueTime: null,
    })
    const server = await startServer(
      withSession(
        factory,
        async (req, res) => {
          const url = new URL(req.url ?? '/', 'http://localhost')
          const key = url.searchParams.get('key') ?? 'key'
          switch (url.pathname) {
            case '/login':
              req.session.regenerate()
              req.session.set('user', 'ada')
              break
            case '/set':
              void req.session.get('user')
              // With a barrier, every request has loaded the session before any of them writes.
              if (barrier !== undefined) await barrier.arrive()
              req.session.set(key, url.searchParams.get('value') ?? key)
              break
            case '/unset':
              void req.session.get('user')
              if (barrier !== undefined) await barrier.arrive()
              req.session.delete(key)
              break
            case '/slow': {
              const held = gates.get(key)!
              void req.session.get('user')
              held.enter()
              await held.released
              req.session.set(key, 'late')
              break
            }
            case '/slow-login': {
              const held = gates.get(key)!
              void req.session.get('user')
              held.enter()
              await held.released
              req.session.regenerate()
              req.session.set('user', 'ada')
              break
            }
            case '/logout':
              req.session.invalidate()
              break
            case '/add-flash':
              void req.session.get('user')
              if (barrier !== undefined) await barrier.arrive()
              req.session.flash(url.searchParams.get('value') ?? '', { queue: key })
              break
            case '/pop-flash': {
              void req.session.get('user')
              if (barrier !== undefined) await barrier.arrive()
              const messages = req.session.popFlash(key)
              res.setHeader('content-type', 'application/json')
              res.end(JSON.stringify(messages))
              return
            }
            case '/flash':
              req.session.set('flash', url.searchParams.get('value') ?? '')
              res.writeHead(302, { location: '/read' })
              res.end()
              return
            default:
              break
          }
          res.setHeader('content-type', 'application/json')
          res.end(JSON.stringify(req.session.toJSON()))
        },
        { onError: (error) => errors.push(error) },
      ),
    )
    const app: App = {
      server,
      recorder,
      events,
      gates,
      errors,
      holdWrites: (count) => void (barrier = createBarrier(count)),
    }
    running.push({ app, store })
    return app
  }

  const read = async (app: App, cookie: string): Promise<Record<string, unknown>> => {
    const response = await rawRequest(`${app.server.url}/read`, { headers: [['cookie', cookie]] })
    return JSON.parse(response.body) as Record<string, unknown>
  }

  const login = async (app: App): Promise<{ jar: CookieJar; cookie: string; id: string }> => {
    const jar = new CookieJar()
    await jar.fetch(`${app.server.url}/login`)
    const id = jar.get('session')!
    return { jar, cookie: `session=${id}`, id }
  }

  describe(`store concurrency over HTTP: ${name}`, { skip: options.skip ?? false }, () => {
    afterEach(async () => {
      for (const { app, store } of running.splice(0)) {
        await app.server.close()
        assert.deepEqual(app.errors, [], 'the adapter reported no error')
        await store.close?.()
        await options.cleanup?.(store)
      }
    })

    it('keeps every key of 50 parallel requests that each set a different key', async () => {
      const app = await startApp()
      const { cookie } = await login(app)
      app.holdWrites(50)
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          rawRequest(`${app.server.url}/set?key=k${i}`, { headers: [['cookie', cookie]] }),
        ),
      )
      for (const response of responses) {
        assert.equal(response.status, 200)
        assert.deepEqual(response.setCookies, [], 'the id never changes')
      }
      const data = await read(app, cookie)
      const expected: Record<string, unknown> = { user: 'ada' }
      for (let i = 0; i < 50; i++) expected[`k${i}`] = `k${i}`
      assert.deepEqual(data, expected)
    })

    it('keeps a key set in parallel when another request deletes the last key of the session', async () => {
      const app = await startApp()
      const { cookie } = await login(app)
      app.holdWrites(2)
      const [emptied, written] = await Promise.all([
        rawRequest(`${app.server.url}/unset?key=user`, { headers: [['cookie', cookie]] }),
        rawRequest(`${app.server.url}/set?key=cart&value=socks`, { headers: [['cookie', cookie]] }),
      ])
      assert.equal(emptied.status, 200)
      assert.equal(written.status, 200)
      assert.deepEqual(emptied.setCookies, [], 'the cookie stays: the record may hold more')
      assert.deepEqual(await read(app, cookie), { cart: 'socks' })
    })

    it('keeps a flash message and a data change made by parallel requests', async () => {
      const app = await startApp()
      const { cookie } = await login(app)
      const send = (path: string) =>
        rawRequest(`${app.server.url}${path}`, { headers: [['cookie', cookie]] })
      app.holdWrites(2)
      const [flashed, written] = await Promise.all([
        send('/add-flash?key=info&value=Saved'),
        send('/set?key=cart&value=socks'),
      ])
      assert.equal(flashed.status, 200)
      assert.equal(written.status, 200)
      assert.deepEqual(await read(app, cookie), { user: 'ada', cart: 'socks' })
      assert.deepEqual(JSON.parse((await send('/pop-flash?key=info')).body), ['Saved'])
    })

    it("leaves another flash queue, and data, to a parallel request's pop", async () => {
      const app = await startApp()
      const { cookie } = await login(app)
      const send = (path: string) =>
        rawRequest(`${app.server.url}${path}`, { headers: [['cookie', cookie]] })
      await send('/add-flash?key=info&value=Saved')
      await send('/add-flash?key=error&value=Card%20declined')
      app.holdWrites(2)
      const [popped, written] = await Promise.all([
        send('/pop-flash?key=info'),
        send('/add-flash?key=error&value=Address%20missing'),
      ])
      assert.deepEqual(JSON.parse(popped.body), ['Saved'])
      assert.equal(written.status, 200)
      const errors = await send('/pop-flash?key=error')
      assert.deepEqual(JSON.parse(errors.body), ['Card declined', 'Address missing'])
      const infos = await send('/pop-flash?key=info')
      assert.deepEqual(JSON.parse(infos.body), [], 'the popped message is gone for good')
    })

    it('keeps the old cookie dead when a slow request finishes after a logout', async () => {
      const app = await startApp()
      const { cookie, id } = await login(app)
      const held = gate()
      app.gates.set('slow', held)
      const slow = rawRequest(`${app.server.url}/slow?key=slow`, { headers: [['cookie', cookie]] })
      await held.entered
      const logout = await rawRequest(`${app.server.url}/logout`, { headers: [['cookie', cookie]] })
      assert.match(logout.setCookies[0] ?? '', /^session=; Max-Age=0/)
      held.release()
      const late = await slow
      assert.equal(late.status, 200)
      assert.deepEqual(late.setCookies, [], 'no cookie for a session that is gone')
      assert.deepEqual(await read(app, cookie), {}, 'the replayed cookie is anonymous')
      assert.equal(await running.at(-1)!.store.get(hash(id)), undefined)
    })

    it('never brings back, under a new id, a session ended while a login was regenerating it', async () => {
      const app = await startApp()
      const { cookie } = await login(app)
      const held = gate()
      app.gates.set('relogin', held)
      const slow = rawRequest(`${app.server.url}/slow-login?key=relogin`, {
        headers: [['cookie', cookie]],
      })
      await held.entered
      const logout = await rawRequest(`${app.server.url}/logout`, { headers: [['cookie', cookie]] })
      assert.match(logout.setCookies[0] ?? '', /^session=; Max-Age=0/)
      app.recorder.reset()
      held.release()
      const late = await slow
      assert.equal(late.status, 200)
      assert.deepEqual(late.setCookies, [], 'no cookie for a session that is gone')
      for (const call of app.recorder.calls.filter((call) => call.method === 'set')) {
        const [written] = call.args as [string]
        assert.equal(await running.at(-1)!.store.get(written), undefined, 'no record is left')
      }
    })

    it('deletes the old record when the session is regenerated at login', async () => {
      const app = await startApp()
      const { jar, cookie: before, id } = await login(app)
      await jar.fetch(`${app.server.url}/set?key=cart`)
      await jar.fetch(`${app.server.url}/login`)
      const after = `session=${jar.get('session')!}`
      assert.notEqual(after, before)
      assert.deepEqual(await read(app, after), { user: 'ada', cart: 'cart' })
      assert.deepEqual(await read(app, before), {})
      assert.equal(await running.at(-1)!.store.get(hash(id)), undefined)
    })

    it('costs exactly one store read and no write for a read-only request', async () => {
      const app = await startApp()
      const { cookie } = await login(app)
      app.recorder.reset()
      const response = await rawRequest(`${app.server.url}/read`, { headers: [['cookie', cookie]] })
      assert.deepEqual(JSON.parse(response.body), { user: 'ada' })
      assert.deepEqual(response.setCookies, [])
      assert.deepEqual(
        app.recorder.calls.map((call) => call.method),
        ['get'],
      )
    })

    it('shows the new data to a redirect followed at once after a write', async () => {
      const app = await startApp()
      const { cookie } = await login(app)
      for (let i = 0; i < 10; i++) {
        const redirect = await rawRequest(`${app.server.url}/flash?value=m${i}`, {
          headers: [['cookie', cookie]],
        })
        app.events.push('response')
        assert.equal(redirect.status, 302)
        assert.equal(app.events.at(-2), 'write', 'the write finished before the response was sent')
        const shown = await rawRequest(`${app.server.url}${redirect.headers.location!}`, {
          headers: [['cookie', cookie]],
        })
        assert.equal((JSON.parse(shown.body) as { flash: string }).flash, `m${i}`)
      }
    })
  })
}
