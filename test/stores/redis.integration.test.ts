import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createClient } from 'redis'
import { ConfigError, StoreUnavailableError } from '../../src/index.js'
import { createRedisStore, type RedisStoreClient } from '../../src/redis.js'
import { HOUR, newIdHash, storedRecord } from '../helpers/stored-records.js'
import { runStoreSuite } from '../../src/testing.js'
import { REDIS_URL, serviceSkip, sharedRedisClient, uniqueName } from '../helpers/services.js'
import { runStoreConcurrencySuite } from '../helpers/store-concurrency.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

const skip = await serviceSkip('redis')
const prefix = `${uniqueName()}:`

const client = sharedRedisClient(prefix)

const record = storedRecord

/** Wraps a client and counts the commands the store sends through it (round trips). */
function counting(target: RedisStoreClient): { client: RedisStoreClient; commands: string[] } {
  const commands: string[] = []
  const wrap = (inner: object): RedisStoreClient =>
    new Proxy(inner, {
      get(object, property) {
        const value: unknown = Reflect.get(object, property)
        if (typeof value !== 'function') return value
        if (property === 'withCommandOptions') {
          return (...args: unknown[]) =>
            wrap((value as (...a: unknown[]) => object).apply(object, args))
        }
        return (...args: unknown[]): unknown => {
          if (typeof property === 'string' && property !== 'on' && property !== 'listenerCount') {
            commands.push(property)
          }
          return (value as (...a: unknown[]) => unknown).apply(object, args)
        }
      },
    }) as RedisStoreClient
  return { client: wrap(target), commands }
}

runStoreSuite('redis store', async () => createRedisStore({ client: await client(), prefix }), {
  skip,
})

runStoreConcurrencySuite(
  'redis store',
  async () => createRedisStore({ client: await client(), prefix }),
  { skip },
)

describe('createRedisStore', { skip }, () => {
  it('keeps a session in one hash under a cluster hash tag of the id hash, with native expiry', async () => {
    const redis = await client()
    const store = createRedisStore({ client: redis, prefix })
    const id = newIdHash()
    const time = Date.now()
    await store.set(
      id,
      record({ data: { user: 'ada', 'a:b': [1] }, expires: time + 60_000, owner: 'u1' }),
    )
    const key = `${prefix}{${id}}`
    assert.equal(await redis.type(key), 'hash')
    const fields = await redis.hGetAll(key)
    assert.equal(fields['d:user'], '"ada"')
    assert.equal(fields['d:a:b'], '[1]')
    assert.equal(fields['s:csrf'], '"token"')
    assert.equal(fields.owner, 'u1')
    assert.equal(fields.expires, String(time + 60_000))
    const ttl = await redis.pTTL(key)
    assert.ok(ttl > 55_000 && ttl <= 60_000, `PTTL ${ttl}`)
    assert.equal(await redis.type(`${prefix}owner:{u1}`), 'zset')
    assert.ok(
      (await redis.pTTL(`${prefix}owner:{u1}`)) >= ttl,
      'the owner index outlives its sessions',
    )
  })

  it('patches and touches an unowned session in one round trip', async () => {
    const { client: counted, commands } = counting(await client())
    const store = createRedisStore({ client: counted, prefix })
    const id = newIdHash()
    await store.set(id, record())
    const time = Date.now()
    const patch = {
      data: { set: new Map([['cart', ['tea']]]), deleted: new Set(['user']) },
      system: { set: new Map(), deleted: new Set<string>() },
      lastActive: time,
      expires: time + HOUR,
    }
    await store.patch(id, patch) // loads the script into the server's cache
    commands.length = 0
    assert.equal(await store.patch(id, patch), true)
    assert.deepEqual(commands, ['evalSha'])
    commands.length = 0
    assert.equal(await store.touch(id, time + 1, time + 2 * HOUR), true)
    assert.deepEqual(commands, ['evalSha'])
    commands.length = 0
    assert.notEqual(await store.get(id), undefined)
    assert.deepEqual(commands, ['hGetAll'])
  })

  it('patches an owned session in one round trip while its owner index lives long enough', async () => {
    const { client: counted, commands } = counting(await client())
    const store = createRedisStore({ client: counted, prefix })
    const id = newIdHash()
    const time = Date.now()
    await store.set(id, record({ owner: `owner-${newIdHash()}`, expires: time + HOUR }))
    commands.length = 0
    await store.touch(id, time, time + HOUR / 2)
    assert.deepEqual(commands, ['evalSha'])
  })

  it(
    'keeps an owner index entry that a concurrent writer re-added before a late removal',
    { timeout: 10_000 },
    async () => {
      const real = await client()
      let holdRemoval: Promise<void> | undefined
      let removalHeld!: () => void
      const removalReached = new Promise<void>((resolve) => (removalHeld = resolve))
      // The same client, but the first ZREM waits until released (a slow network, say).
      const delayed = new Proxy(real, {
        get(object, property) {
          const value: unknown = Reflect.get(object, property)
          if (property !== 'zRem' || typeof value !== 'function') return value
          return async (...args: unknown[]): Promise<unknown> => {
            const hold = holdRemoval
            holdRemoval = undefined
            if (hold !== undefined) removalHeld()
            await hold
            return (value as (...a: unknown[]) => unknown).apply(object, args)
          }
        },
      }) as RedisStoreClient
      const store = createRedisStore({ client: delayed, prefix })
      const id = newIdHash()
      const owner = `owner-${newIdHash()}`
      await store.set(id, record({ owner }))
      const change = (next: string | null) =>
        store.patch(id, {
          data: { set: new Map(), deleted: new Set() },
          system: { set: new Map(), deleted: new Set() },
          lastActive: Date.now(),
          expires: Date.now() + HOUR,
          owner: next,
        })
      let release!: () => void
      holdRemoval = new Promise((resolve) => (release = resolve))
      // One request clears the owner; its removal from the index is late. Another gives it back.
      const clearing = change(null)
      await removalReached
      assert.equal(await change(owner), true)
      release()
      await clearing
      assert.equal((await store.get(id))?.owner, owner)
      assert.deepEqual(
        (await store.listByOwner(owner)).map((session) => session.idHash),
        [id],
      )
    },
  )

  it('reads a hash changed by hand into something that is not a session as no session', async () => {
    const redis = await client()
    const store = createRedisStore({ client: redis, prefix })
    const [unparsable, timeless] = [newIdHash(), newIdHash()]
    await store.set(unparsable, record())
    await store.set(timeless, record())
    await redis.hSet(`${prefix}{${unparsable}}`, 'd:user', '{"half')
    await redis.hDel(`${prefix}{${timeless}}`, 'created')
    assert.equal(await store.get(unparsable), undefined)
    assert.equal(await store.get(timeless), undefined)
  })

  it('loads its scripts again after SCRIPT FLUSH', async () => {
    const redis = await client()
    const store = createRedisStore({ client: redis, prefix })
    const id = newIdHash()
    await store.set(id, record())
    await redis.scriptFlush()
    assert.equal(await store.touch(id, Date.now(), Date.now() + HOUR), true)
  })

  it('never closes a client it was given', async () => {
    const redis = await client()
    await createRedisStore({ client: redis, prefix }).close()
    assert.equal(redis.isOpen, true)
  })

  it('creates, connects and closes its own client from a url', async () => {
    const store = createRedisStore({ url: REDIS_URL, prefix })
    const id = newIdHash()
    assert.equal(await store.set(id, record()), true)
    assert.equal((await store.get(id))?.data.user, 'ada')
    await store.delete(id)
    await store.close()
  })

  it("keeps an owner index to the owner's recent sessions, however often the owner logs in", async () => {
    const redis = await client()
    const owner = uniqueName()
    const start = Date.now()
    let time = start
    const store = createRedisStore({ client: redis, prefix, now: () => time })
    const kept = newIdHash()
    await store.set(
      kept,
      record({ created: time, lastActive: time, expires: time + 3 * HOUR, owner }),
    )
    // 100 logins a minute apart, each session ending a second after it began: an index write
    // keeps the members up to ten minutes past their ownerUntil, so about ten of them.
    let last = ''
    for (let login = 0; login < 100; login++) {
      time += 60_000
      last = newIdHash()
      await store.set(
        last,
        record({ created: time, lastActive: time, expires: time + 1000, owner }),
      )
    }
    const members = await redis.zRange(`${prefix}owner:{${owner}}`, 0, -1)
    assert.ok(members.length <= 12, `${members.length} members`)
    assert.ok(members.includes(kept) && members.includes(last))
    assert.deepEqual(
      (await store.listByOwner(owner)).map((summary) => summary.idHash).sort(),
      [kept, last].sort(),
    )
  })

  it('takes a deleted session out of its owner index', async () => {
    const redis = await client()
    const owner = uniqueName()
    const store = createRedisStore({ client: redis, prefix })
    const [gone, stays] = [newIdHash(), newIdHash()]
    await store.set(gone, record({ owner }))
    await store.set(stays, record({ owner }))
    await store.delete(gone)
    await store.delete(newIdHash()) // no such session: nothing to take out
    assert.deepEqual(await redis.zRange(`${prefix}owner:{${owner}}`, 0, -1), [stays])
  })

  it('deletes a session even when taking it out of its owner index fails', async () => {
    const redis = await client()
    const owner = uniqueName()
    const ownerIndex = `${prefix}owner:{${owner}}`
    // A client whose commands on the owner index fail (the link dropped after the DEL).
    const failing = new Proxy(redis, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target)
        if (typeof value !== 'function') return value
        return (...args: unknown[]): unknown => {
          const key = (args[1] as { keys?: string[] } | undefined)?.keys?.[0]
          if ((property === 'evalSha' || property === 'eval') && key === ownerIndex) {
            return Promise.reject(new Error('connection lost'))
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    }) as unknown as RedisStoreClient
    const id = newIdHash()
    await createRedisStore({ client: redis, prefix }).set(id, record({ owner }))
    await createRedisStore({ client: failing, prefix }).delete(id)
    assert.equal(await redis.exists(`${prefix}{${id}}`), 0)
  })

  it('keeps an index entry written again while deleteByOwner decided to remove it', async () => {
    const redis = await client()
    const ownerIndex = `${prefix}owner:{${uniqueName()}}`
    const owner = ownerIndex.slice(`${prefix}owner:{`.length, -1)
    const other = createRedisStore({ client: redis, prefix })
    const ownerPatch = (to: string) => ({
      data: { set: new Map(), deleted: new Set<string>() },
      system: { set: new Map(), deleted: new Set<string>() },
      lastActive: Date.now(),
      expires: Date.now() + HOUR,
      owner: to,
    })
    const id = newIdHash()
    await other.set(id, record({ owner }))
    // An entry whose ownerUntil has long passed (indexed by a server whose clock ran far behind):
    // deleteByOwner removes it without looking at its session.
    await redis.zAdd(ownerIndex, { score: 1, value: id })
    // Another process hands the session to someone else right after the index is read, and back
    // to the owner right before the stale entries are removed.
    let step = 0
    const hooked = new Proxy(redis, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target)
        if (typeof value !== 'function') return value
        const forward = (...args: unknown[]): unknown =>
          (value as (...a: unknown[]) => unknown).apply(target, args)
        if (property === 'zRangeWithScores') {
          return async (...args: unknown[]) => {
            const reply = await forward(...args)
            if (step === 0 && ++step)
              assert.equal(await other.patch(id, ownerPatch('someone')), true)
            return reply
          }
        }
        if (property === 'evalSha' || property === 'eval' || property === 'zRem') {
          return async (...args: unknown[]) => {
            const key = property === 'zRem' ? args[0] : (args[1] as { keys: string[] }).keys[0]
            if (step === 1 && key === ownerIndex && ++step) {
              assert.equal(await other.patch(id, ownerPatch(owner)), true)
            }
            return forward(...args)
          }
        }
        return forward
      },
    }) as unknown as RedisStoreClient
    const revoking = createRedisStore({ client: hooked, prefix })
    assert.equal(await revoking.deleteByOwner(owner), 0, 'it belonged to someone else then')
    assert.equal(step, 2)
    assert.deepEqual(await redis.zRange(ownerIndex, 0, -1), [id])
    assert.equal(await other.deleteByOwner(owner), 1, 'the next revocation still finds it')
    assert.equal(await other.get(id), undefined)
  })

  it('never runs a command of a failed operation late, when the link dropped between its commands', async () => {
    const proxy = await startTcpProxy(6379)
    const viaProxy = createClient({
      url: `redis://127.0.0.1:${proxy.port}`,
      socket: { reconnectStrategy: () => 50 },
    })
    viaProxy.on('error', () => {})
    await viaProxy.connect()
    // The link drops right after the operation's first command (the owner index) has answered,
    // before its second (the session's write) is sent.
    let evalShas = 0
    const dropping = new Proxy(viaProxy, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target)
        if (property !== 'evalSha') {
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value
        }
        return async (...args: unknown[]) => {
          const reply: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(
            target,
            args,
          )
          if (++evalShas === 1) {
            proxy.down({ refuse: true })
            while (target.isReady) await new Promise((resolve) => setTimeout(resolve, 5))
          }
          return reply
        }
      },
    }) as unknown as RedisStoreClient
    try {
      const direct = createRedisStore({ client: await client(), prefix })
      const dropped = createRedisStore({ client: dropping, prefix, commandTimeoutMs: 300 })
      const id = newIdHash()
      const time = Date.now()
      const none = { set: new Map(), deleted: new Set<string>() }
      await direct.set(id, record({ data: { role: 'admin' }, owner: 'alice' }))
      await assert.rejects(
        dropped.patch(id, {
          data: { set: new Map([['role', 'user']]), deleted: new Set() },
          system: none,
          lastActive: time + 1,
          expires: time + HOUR,
          owner: 'bob',
        }),
        StoreUnavailableError,
      )
      // A later request, served by another process, changes the session...
      await direct.patch(id, {
        data: { set: new Map([['role', 'viewer']]), deleted: new Set() },
        system: none,
        lastActive: time + 2,
        expires: time + HOUR,
      })
      // ...and the failed operation's write must not land on top of it once the link is back.
      await proxy.up()
      while (!viaProxy.isReady) await new Promise((resolve) => setTimeout(resolve, 5))
      await viaProxy.ping() // runs after anything still queued from before the reconnect
      const stored = await direct.get(id)
      assert.equal(stored?.data.role, 'viewer')
      assert.equal(stored?.owner, 'alice')
    } finally {
      await viaProxy.close().catch(() => viaProxy.destroy())
      await proxy.close()
    }
  })

  it('fails with StoreUnavailableError within commandTimeoutMs when Redis is unreachable', async () => {
    let firstReport: (error: unknown) => void = () => {}
    const reported = new Promise<unknown>((resolve) => (firstReport = resolve))
    const store = createRedisStore({
      url: 'redis://127.0.0.1:1',
      commandTimeoutMs: 300,
      onError: (error) => firstReport(error),
    })
    try {
      const started = performance.now()
      await assert.rejects(store.get(newIdHash()), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError)
        assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
        assert.ok(error.cause instanceof Error)
        return true
      })
      assert.ok(performance.now() - started < 1500)
      // The refused connection may be reported after the deadline, on a loaded machine: wait.
      assert.ok(
        (await reported) instanceof Error,
        'connection errors go to onError, not to an uncaught error',
      )
    } finally {
      await store.close()
    }
  })

  it('refuses options it cannot use', async () => {
    const redis = await client()
    const invalid = (options: Parameters<typeof createRedisStore>[0], option: string): void => {
      assert.throws(
        () => createRedisStore(options),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.code === 'ERR_INVALID_OPTION' &&
          error.option === option,
      )
    }
    invalid({}, 'client')
    invalid({ client: redis, url: REDIS_URL }, 'client')
    invalid({ url: '' }, 'url')
    invalid({ client: redis, commandTimeoutMs: 0 }, 'commandTimeoutMs')
    invalid({ client: redis, commandTimeoutMs: 1.5 }, 'commandTimeoutMs')
  })
})
