import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { createClient } from 'redis'
import type { SessionStore, StoredSession } from 'cloakroom'
import { createPostgresStore } from 'cloakroom/postgres'
import { createRedisStore } from 'cloakroom/redis'
import { POSTGRES, REDIS_URL, serviceSkip, uniqueName } from '../helpers/services.js'

const postgresSkip = await serviceSkip('postgres')
const redisSkip = await serviceSkip('redis')

const NOW = Date.UTC(2030, 0, 1)
const HOUR = 3_600_000
const LARGE = { user: 'b', big: 'x'.repeat(100) }

function record(created: number, expires: number, data: StoredSession['data']): StoredSession {
  return { data, system: { csrf: 't' }, created, lastActive: created, expires }
}

async function seedLive(store: SessionStore): Promise<void> {
  await store.set('live-a', record(NOW - 3 * HOUR, NOW + HOUR, { user: 'a' }))
  await store.set('live-b', { ...record(NOW - 5 * HOUR, NOW + HOUR, LARGE), owner: 'ann' })
  await store.set('live-c', record(NOW - HOUR, NOW + HOUR, { user: 'c' }))
}

describe('PostgresStore stats() and batched prune()', { skip: postgresSkip }, () => {
  const schema = uniqueName()
  const pool = postgresSkip === false ? new pg.Pool({ ...POSTGRES, max: 2 }) : undefined
  after(async () => {
    await pool?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await pool?.end()
  })

  it('counts live and expired rows, finds the oldest and largest, and prunes in batches', async () => {
    const store = createPostgresStore({ pool: pool!, schema, now: () => NOW })
    assert.deepEqual(await store.stats(), {
      live: 0,
      expired: 0,
      oldestCreated: null,
      largestBytes: null,
    })
    await seedLive(store)
    for (let i = 0; i < 5; i++) {
      await store.set(`dead-${i}`, record(NOW - 99 * HOUR, NOW - i, { user: 'z'.repeat(500) }))
    }
    const stats = await store.stats()
    assert.equal(stats.live, 3)
    assert.equal(stats.expired, 5)
    assert.equal(stats.oldestCreated, NOW - 5 * HOUR)
    // jsonb's text form, with its spaces and its own key order.
    assert.equal(
      stats.largestBytes,
      `{"big": "${LARGE.big}", "user": "b"}`.length + '{"csrf": "t"}'.length,
    )
    const progress: number[] = []
    assert.equal(await store.prune({ batchSize: 2, onProgress: (n) => progress.push(n) }), 5)
    assert.deepEqual(progress, [2, 4, 5])
    assert.equal((await store.stats()).expired, 0)
    await assert.rejects(store.prune({ batchSize: -1 }), { code: 'ERR_INVALID_OPTION' })
  })
})

describe('RedisStore stats()', { skip: redisSkip }, () => {
  // Glob characters in the prefix must be matched literally.
  const base = uniqueName()
  const prefix = `${base}*[x]:`
  const client = redisSkip === false ? createClient({ url: REDIS_URL }) : undefined
  after(async () => {
    if (client === undefined || !client.isOpen) return
    for await (const keys of client.scanIterator({ MATCH: `${base}*` })) {
      if (keys.length > 0) await client.del(keys)
    }
    await client.close()
  })

  it('walks the keys under the prefix only, ignoring owner indexes and other prefixes', async () => {
    await client!.connect()
    const store = createRedisStore({ client: client!, prefix, now: () => NOW })
    assert.deepEqual(await store.stats(), {
      live: 0,
      expired: 0,
      oldestCreated: null,
      largestBytes: null,
    })
    await seedLive(store)
    // Written by a clock two hours behind: its TTL has not fired, but it has expired for `store`.
    const late = createRedisStore({ client: client!, prefix, now: () => NOW - 2 * HOUR })
    await late.set('dead-0', record(NOW - 99 * HOUR, NOW - HOUR, { user: 'z' }))
    // A key the unescaped pattern would match.
    const other = createRedisStore({
      client: client!,
      prefix: prefix.replace('*[x]', 'Q[x]'),
      now: () => NOW,
    })
    await other.set('live-z', record(NOW - 50 * HOUR, NOW + HOUR, { user: 'other' }))
    assert.deepEqual(await store.stats(), {
      live: 3,
      expired: 1,
      oldestCreated: NOW - 5 * HOUR,
      largestBytes:
        Buffer.byteLength(JSON.stringify(LARGE)) + Buffer.byteLength(JSON.stringify({ csrf: 't' })),
    })
  })
})
