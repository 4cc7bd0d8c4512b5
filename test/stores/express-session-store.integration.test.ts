import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RedisStore } from 'connect-redis'
import session from 'express-session'
import {
  ConfigError,
  fromExpressSessionStore,
  StoreUnavailableError,
  type ExpressSessionStoreLike,
  type StoredSession,
} from '../../src/index.js'
import { HOUR, newIdHash, storedRecord } from '../helpers/stored-records.js'
import { runStoreSuite } from '../../src/testing.js'
import { serviceSkip, sharedRedisClient, uniqueName } from '../helpers/services.js'
import { runStoreConcurrencySuite } from '../helpers/store-concurrency.js'

const skip = await serviceSkip('redis')
const prefix = `${uniqueName()}:`

const client = sharedRedisClient(prefix)

const record = (overrides: Partial<StoredSession> = {}): StoredSession =>
  storedRecord({ system: {}, ...overrides })

const connectRedis = async (): Promise<ReturnType<typeof fromExpressSessionStore>> =>
  fromExpressSessionStore(new RedisStore({ client: await client(), prefix }))

runStoreSuite('fromExpressSessionStore(connect-redis)', connectRedis, { skip })
runStoreConcurrencySuite('fromExpressSessionStore(connect-redis)', connectRedis, { skip })
runStoreSuite('fromExpressSessionStore(express-session MemoryStore)', () =>
  fromExpressSessionStore(new session.MemoryStore()),
)

/**
 * A session stored through fromExpressSessionStore (200 ms timeout) over a MemoryStore, and a
 * patch of it whose write the MemoryStore finishes only after `lateMs`, long after the patch
 * has failed.
 */
/**
 * A store whose next write lands `lateMs` after it was asked for, past the 400 ms deadline of its
 * wrapper: a late write, with enough spare time for the calls queued behind it on a busy machine.
 */
async function lateWrite(lateMs: number) {
  const inner = new session.MemoryStore()
  const set = inner.set.bind(inner)
  let slowSets = 0
  inner.set = (sid, data, callback) => {
    if (slowSets === 0) return set(sid, data, callback)
    slowSets--
    setTimeout(() => set(sid, data, callback), lateMs)
  }
  const store = fromExpressSessionStore(inner, { timeoutMs: 400 })
  const id = newIdHash()
  const time = Date.now()
  await store.set(id, record({ data: { user: 'ann' } }))
  slowSets = 1
  const patching = store.patch(id, {
    data: { set: new Map([['late', 1]]), deleted: new Set() },
    system: { set: new Map(), deleted: new Set() },
    lastActive: time,
    expires: time + 60_000,
  })
  return { store, id, patching }
}

describe('fromExpressSessionStore', () => {
  it(
    'saves an express-session object whose cookie.expires gives connect-redis its TTL',
    { skip },
    async () => {
      const store = await connectRedis()
      const id = newIdHash()
      const time = Date.now()
      await store.set(
        id,
        record({ created: time, lastActive: time, expires: time + 60_000, owner: 'u1' }),
      )
      const raw = JSON.parse((await (await client()).get(`${prefix}${id}`))!) as Record<
        string,
        unknown
      >
      assert.deepEqual(raw.cookie, {
        originalMaxAge: (raw.cookie as { originalMaxAge: number }).originalMaxAge,
        expires: new Date(time + 60_000).toISOString(),
      })
      assert.deepEqual(raw.cloakroom, {
        v: 1,
        data: { user: 'ada' },
        system: {},
        created: time,
        lastActive: time,
        expires: time + 60_000,
        owner: 'u1',
      })
      const ttl = await (await client()).ttl(`${prefix}${id}`)
      assert.ok(ttl > 55 && ttl <= 60, `TTL ${ttl}`)
    },
  )

  it('reads a session that express-session wrote as missing', { skip }, async () => {
    const legacy = new RedisStore({ client: await client(), prefix })
    const id = newIdHash()
    await legacy.set(id, { cookie: { originalMaxAge: 60_000 } })
    assert.equal(await (await connectRedis()).get(id), undefined)
  })

  it('fails with StoreUnavailableError when the wrapped store calls back with an error', async () => {
    const broken: ExpressSessionStoreLike = {
      get: (_sid, callback) => callback(new Error('connection refused')),
      set: (_sid, _session, callback) => callback(new Error('connection refused')),
      destroy: (_sid, callback) => callback(new Error('connection refused')),
    }
    const store = fromExpressSessionStore(broken)
    await assert.rejects(store.get(newIdHash()), (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError)
      assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
      assert.equal((error.cause as Error).message, 'connection refused')
      return true
    })
    await assert.rejects(store.set(newIdHash(), record()), StoreUnavailableError)
  })

  it('fails with StoreUnavailableError within timeoutMs when the wrapped store never calls back', async () => {
    const silent: ExpressSessionStoreLike = { get: () => {}, set: () => {}, destroy: () => {} }
    const store = fromExpressSessionStore(silent, { timeoutMs: 100 })
    const started = performance.now()
    await assert.rejects(store.get(newIdHash()), StoreUnavailableError)
    assert.ok(performance.now() - started < 1000)
  })

  it('never lets a write that timed out land after the logout that followed it', async () => {
    const { store, id, patching } = await lateWrite(500)
    await assert.rejects(patching, StoreUnavailableError)
    // The logout waits for the late write to finish in the store, then removes the session.
    await store.delete(id)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(await store.get(id), undefined, 'the late write did not bring the session back')
  })

  it('keeps the order of operations when one gave up while waiting for its turn', async () => {
    // A patch whose write lands at about 450 ms, after the patch failed at 400 ms...
    const { store, id, patching } = await lateWrite(450)
    await new Promise((resolve) => setTimeout(resolve, 10))
    // ...a read behind it that gives up waiting at about 410 ms...
    const reading = store.get(id)
    await assert.rejects(patching, StoreUnavailableError)
    await assert.rejects(reading, StoreUnavailableError)
    // ...and a logout behind both: it waits for the late write, then removes the session.
    await store.delete(id)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(await store.get(id), undefined, 'the late write did not bring the session back')
  })

  it('ends by owner only the sessions that still belong to the owner in their turn', async () => {
    const inner = new session.MemoryStore()
    const listAll = inner.all.bind(inner)
    let duringListing: (() => Promise<unknown>) | undefined
    inner.all = (callback) =>
      listAll((error, sessions) => {
        const hook = duringListing
        duringListing = undefined
        void (hook ?? (() => Promise.resolve()))().then(() => callback(error, sessions))
      })
    const store = fromExpressSessionStore(inner)
    const id = newIdHash()
    await store.set(id, record({ owner: 'alice' }))
    // While "log out everywhere" lists alice's sessions, this one is handed to bob.
    duringListing = () =>
      store.patch(id, {
        data: { set: new Map(), deleted: new Set() },
        system: { set: new Map(), deleted: new Set() },
        lastActive: Date.now(),
        expires: Date.now() + HOUR,
        owner: 'bob',
      })
    assert.equal(await store.deleteByOwner('alice'), 0)
    assert.equal((await store.get(id))?.owner, 'bob')
  })

  it('refuses to list or end sessions by owner when the wrapped store has no all()', async () => {
    const memory = new session.MemoryStore()
    const store = fromExpressSessionStore({
      get: memory.get.bind(memory),
      set: memory.set.bind(memory),
      destroy: memory.destroy.bind(memory),
    })
    await assert.rejects(store.listByOwner('u1'), ConfigError)
    await assert.rejects(store.deleteByOwner('u1'), ConfigError)
  })

  it('refuses something that is not an express-session store', () => {
    assert.throws(
      () => fromExpressSessionStore({} as ExpressSessionStoreLike),
      (error: unknown) => error instanceof ConfigError && error.option === 'store',
    )
    assert.throws(
      () => fromExpressSessionStore(new session.MemoryStore(), { timeoutMs: 0 }),
      (error: unknown) => error instanceof ConfigError && error.option === 'timeoutMs',
    )
  })
})
