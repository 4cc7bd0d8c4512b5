import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { createClient } from 'redis'
import {
  createStoreFactory,
  StoreUnavailableError,
  type SessionStore,
  type StoreSessionFactory,
} from '../src/index.js'
import { withSession } from '../src/node.js'
import { createPostgresStore } from '../src/postgres.js'
import { createRedisStore } from '../src/redis.js'
import { CookieJar, startServer, type TestServer } from './helpers/http.js'
import { freePort, redisBinariesSkip, RedisProcess } from './helpers/redis-server.js'
import { POSTGRES, serviceSkip, uniqueName } from './helpers/services.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'

const postgresSkip = await serviceSkip('postgres')

/** The app under test: `/write?key=value` sets keys, `/read` returns the data as JSON. */
async function startApp(factory: StoreSessionFactory, errors: unknown[]): Promise<TestServer> {
  return startServer(
    withSession(
      factory,
      (req, res) => {
        const url = new URL(req.url ?? '/', 'http://app')
        if (url.pathname === '/write') {
          for (const [key, value] of url.searchParams) req.session.set(key, value)
        }
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify(req.session.toJSON()))
      },
      { onError: (error) => errors.push(error) },
    ),
  )
}

const redisSkip = redisBinariesSkip()

describe('store faults with a real Redis server started by the test', { skip: redisSkip }, () => {
  const servers: RedisProcess[] = []
  const cleanup: (() => Promise<void>)[] = []
  after(async () => {
    for (const server of servers) server.resume()
    for (const step of cleanup.reverse()) await step()
    for (const server of servers) await server.stop()
  })

  async function setup(): Promise<{ app: TestServer; errors: unknown[]; server: RedisProcess }> {
    const server = new RedisProcess(await freePort())
    servers.push(server)
    await server.start()
    const client = createClient({
      url: `redis://127.0.0.1:${server.port}`,
      socket: { reconnectStrategy: () => 50 },
    })
    client.on('error', () => {})
    await client.connect()
    cleanup.push(() => client.close().catch(() => client.destroy()))
    const store = createRedisStore({ client, prefix: `${uniqueName()}:`, commandTimeoutMs: 500 })
    const errors: unknown[] = []
    const app = await startApp(createStoreFactory({ store, storeTimeout: 5000 }), errors)
    cleanup.push(() => app.close())
    return { app, errors, server }
  }

  it('answers 503 quickly while Redis is down, and serves the next request once it is back', async () => {
    const { app, errors, server } = await setup()
    const jar = new CookieJar()
    assert.equal((await jar.fetch(`${app.url}/write?user=ada`)).status, 200)
    assert.deepEqual(JSON.parse((await jar.fetch(`${app.url}/read`)).body), { user: 'ada' })

    await server.stop()
    let started = performance.now()
    const down = await jar.fetch(`${app.url}/read`)
    assert.equal(down.status, 503)
    assert.ok(performance.now() - started < 2000, 'the request does not hang')
    assert.equal(down.setCookies.length, 0, 'the cookie is neither replaced nor deleted')
    started = performance.now()
    assert.equal((await new CookieJar().fetch(`${app.url}/write?user=bob`)).status, 503)
    assert.ok(performance.now() - started < 2000)
    assert.ok(errors.length >= 2)
    assert.ok(errors.every((error) => error instanceof StoreUnavailableError))
    assert.equal((errors[0] as StoreUnavailableError).code, 'ERR_STORE_UNAVAILABLE')
    assert.ok((errors[0] as Error).cause instanceof Error, 'the driver error is the cause')

    // Same port, same app process: the client reconnects by itself. The server kept no data.
    await server.start()
    const back = new CookieJar()
    assert.equal((await back.fetch(`${app.url}/write?user=carol`)).status, 200)
    assert.deepEqual(JSON.parse((await back.fetch(`${app.url}/read`)).body), { user: 'carol' })
  })

  it('answers 503 within the command timeout while Redis hangs, and recovers when it answers again', async () => {
    const { app, errors, server } = await setup()
    const jar = new CookieJar()
    assert.equal((await jar.fetch(`${app.url}/write?user=ada`)).status, 200)

    server.pause()
    const started = performance.now()
    const frozen = await jar.fetch(`${app.url}/read`)
    const elapsed = performance.now() - started
    assert.equal(frozen.status, 503)
    assert.ok(
      elapsed >= 450 && elapsed < 2000,
      `503 after the 500 ms timeout (took ${Math.round(elapsed)} ms)`,
    )
    assert.ok(errors.at(-1) instanceof StoreUnavailableError)

    server.resume()
    assert.deepEqual(JSON.parse((await jar.fetch(`${app.url}/read`)).body), { user: 'ada' })
  })
})

describe('an operation past its deadline sends no more commands', { skip: redisSkip }, () => {
  it('refuses the rest of a multi-command Redis operation once it has timed out', async () => {
    const server = new RedisProcess(await freePort())
    await server.start()
    const url = `redis://127.0.0.1:${server.port}`
    const client = createClient({ url })
    const observer = createClient({ url })
    try {
      await client.connect()
      await observer.connect()
      const store = createRedisStore({ client, prefix: `${uniqueName()}:`, commandTimeoutMs: 300 })
      const time = Date.now()
      for (const idHash of ['a'.repeat(43), 'b'.repeat(43)]) {
        await store.set(idHash, {
          data: {},
          system: {},
          created: time,
          lastActive: time,
          expires: time + 60_000,
          owner: 'ada',
        })
      }
      // listByOwner reads the owner's index (ZRANGE), then each session (HMGET).
      assert.equal((await store.listByOwner('ada')).length, 2)
      await observer.configResetStat()

      server.pause()
      const started = performance.now()
      await assert.rejects(store.listByOwner('ada'), StoreUnavailableError)
      assert.ok(performance.now() - started < 2000, 'the call gave up at its deadline')
      // The ZRANGE sent before the pause is answered now, after the deadline: the operation must
      // not go on to send its HMGETs.
      server.resume()
      await new Promise((resolve) => setTimeout(resolve, 300))
      const stats = await observer.info('commandstats')
      assert.match(stats, /cmdstat_zrange:calls=1,/)
      assert.doesNotMatch(stats, /cmdstat_hmget:/)
    } finally {
      server.resume()
      await client.close().catch(() => client.destroy())
      await observer.close().catch(() => observer.destroy())
      await server.stop()
    }
  })
})

describe('store faults with a store that never answers', () => {
  it("answers 503 within the factory's storeTimeout", async () => {
    const never = (): Promise<never> => new Promise(() => {})
    const hung: SessionStore = {
      get: never,
      set: never,
      patch: never,
      touch: never,
      delete: never,
      listByOwner: never,
      deleteByOwner: never,
    }
    const errors: unknown[] = []
    const app = await startApp(createStoreFactory({ store: hung, storeTimeout: 300 }), errors)
    try {
      const started = performance.now()
      const response = await new CookieJar().fetch(`${app.url}/write?user=ada`)
      const elapsed = performance.now() - started
      assert.equal(response.status, 503)
      assert.ok(elapsed >= 250 && elapsed < 1500, `took ${Math.round(elapsed)} ms`)
      assert.ok(errors[0] instanceof StoreUnavailableError)
    } finally {
      await app.close()
    }
  })
})

describe('store faults with PostgreSQL', { skip: postgresSkip }, () => {
  it('fails a query whose connection drops mid-query with StoreUnavailableError, and does not crash', async () => {
    const proxy = await startTcpProxy(POSTGRES.port)
    const schema = uniqueName()
    const pool = new pg.Pool({ ...POSTGRES, host: '127.0.0.1', port: proxy.port, max: 2 })
    const admin = new pg.Client({ ...POSTGRES })
    await admin.connect()
    const store = createPostgresStore({ pool, schema, onError: () => {} })
    const locker = new pg.Client({ ...POSTGRES })
    await locker.connect()
    try {
      const time = Date.now()
      const idHash = 'a'.repeat(43)
      await store.set(idHash, {
        data: { user: 'ada' },
        system: {},
        created: time,
        lastActive: time,
        expires: time + 60_000,
      })
      // Another connection holds the row, so the store's UPDATE is still running when the
      // connection is cut: the server never answers it.
      await locker.query('BEGIN')
      await locker.query(
        `SELECT 1 FROM "${schema}".cloakroom_sessions WHERE id_hash = $1 FOR UPDATE`,
        [idHash],
      )
      const touching = store.touch(idHash, time + 1, time + 120_000)
      for (;;) {
        const { rows } = await admin.query<{ waiting: number }>(
          "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE%'",
        )
        if (rows[0]!.waiting > 0) break
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      proxy.down()
      await assert.rejects(touching, (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError)
        assert.match((error.cause as Error).message, /Connection terminated/)
        return true
      })
      await locker.query('ROLLBACK')
      // The broken connection was not given back to the pool: the next call works.
      assert.deepEqual((await store.get(idHash))?.data, { user: 'ada' })
    } finally {
      await locker.end()
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await admin.end()
      await pool.end()
      await proxy.close()
    }
  })

  it('survives pg_terminate_backend on every pooled connection, and serves the next request', async () => {
    const applicationName = uniqueName()
    const schema = uniqueName()
    const pool = new pg.Pool({ ...POSTGRES, application_name: applicationName, max: 4 })
    const admin = new pg.Client({ ...POSTGRES })
    await admin.connect()
    const poolErrors: unknown[] = []
    let reported: () => void = () => {}
    const firstReport = new Promise<void>((resolve) => {
      reported = resolve
    })
    const store = createPostgresStore({
      pool,
      schema,
      onError: (error) => {
        poolErrors.push(error)
        reported()
      },
    })
    const errors: unknown[] = []
    const app = await startApp(createStoreFactory({ store }), errors)
    try {
      const jar = new CookieJar()
      assert.equal((await jar.fetch(`${app.url}/write?user=ada`)).status, 200)
      assert.equal(pool.idleCount > 0, true, 'the pool holds idle connections')

      const { rows } = await admin.query<{ terminated: boolean }>(
        'SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name = $1',
        [applicationName],
      )
      assert.ok(rows.length > 0 && rows.every((row) => row.terminated))
      await firstReport
      assert.ok(poolErrors.length > 0, 'the dropped connection was reported, not thrown')

      const next = await jar.fetch(`${app.url}/read`)
      assert.equal(next.status, 200)
      assert.deepEqual(JSON.parse(next.body), { user: 'ada' })
      assert.deepEqual(errors, [])
    } finally {
      await app.close()
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await admin.end()
      await pool.end()
    }
  })
})
