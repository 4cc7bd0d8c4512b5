import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { ConfigError, StoreUnavailableError } from '../../src/index.js'
import { createPostgresStore, postgresSessionTableSQL } from '../../src/postgres.js'
import { HOUR, newIdHash, storedRecord } from '../helpers/stored-records.js'
import { runStoreSuite } from '../../src/testing.js'
import { POSTGRES, serviceSkip, uniqueName } from '../helpers/services.js'
import { runStoreConcurrencySuite } from '../helpers/store-concurrency.js'

const skip = await serviceSkip('postgres')
const schema = uniqueName()

let shared: pg.Pool | undefined
function pool(): pg.Pool {
  shared ??= new pg.Pool({ ...POSTGRES, max: 10 })
  return shared
}

after(async () => {
  if (shared === undefined) return
  await shared.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await shared.end()
})

const record = storedRecord

runStoreSuite('postgres store', () => createPostgresStore({ pool: pool(), schema }), { skip })

runStoreConcurrencySuite('postgres store', () => createPostgresStore({ pool: pool(), schema }), {
  skip,
})

describe('postgresSessionTableSQL', () => {
  const indexNames = (table: string): string[] =>
    [...postgresSessionTableSQL({ table }).matchAll(/CREATE INDEX IF NOT EXISTS "([^"]+)"/g)].map(
      (match) => match[1]!,
    )

  it('names the indexes of long table names within 63 bytes, distinct for a shared prefix', () => {
    assert.deepEqual(indexNames('sessions'), ['sessions_owner_idx', 'sessions_expires_idx'])
    const accented = indexNames('é'.repeat(30))
    for (const name of accented) assert.ok(Buffer.byteLength(name) <= 63, name)
    const prefix = 'x'.repeat(50)
    const [first, second] = [indexNames(`${prefix}_a`), indexNames(`${prefix}_b`)]
    for (const name of [...first, ...second]) assert.ok(Buffer.byteLength(name) <= 63, name)
    assert.notDeepEqual(first, second)
  })
})

describe('createPostgresStore', { skip }, () => {
  it('keeps one row per session keyed by the id hash, with JSONB data and an owner', async () => {
    const store = createPostgresStore({ pool: pool(), schema })
    const id = newIdHash()
    await store.set(id, record({ owner: 'u1' }))
    const { rows } = await pool().query(
      `SELECT id_hash, data, system, owner, jsonb_typeof(data) AS kind FROM "${schema}".cloakroom_sessions WHERE id_hash = $1`,
      [id],
    )
    assert.deepEqual(rows, [
      {
        id_hash: id,
        data: { user: 'ada' },
        system: { csrf: 'token' },
        owner: 'u1',
        kind: 'object',
      },
    ])
  })

  it('reads a row changed by hand into something that is not a session as no session', async () => {
    const store = createPostgresStore({ pool: pool(), schema })
    const [unparsable, notObject] = [newIdHash(), newIdHash()]
    await store.set(unparsable, record())
    await store.set(notObject, record())
    const table = `"${schema}".cloakroom_sessions`
    await pool().query(`UPDATE ${table} SET data = $2 WHERE id_hash = $1`, [
      unparsable,
      JSON.stringify({ user: { '\u0001json': '{"half' } }),
    ])
    await pool().query(`UPDATE ${table} SET system = '[1]' WHERE id_hash = $1`, [notObject])
    assert.equal(await store.get(unparsable), undefined)
    assert.equal(await store.get(notObject), undefined)
  })

  it('patches with exactly one UPDATE statement', async () => {
    const real = pool()
    const store = createPostgresStore({ pool: real, schema })
    const id = newIdHash()
    await store.set(id, record())
    const statements: string[] = []
    /** Counts the statements sent through `target` and the connections it hands out. */
    const counting = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(object, property) {
          const value: unknown = Reflect.get(object, property)
          if (typeof value !== 'function') return value
          const method = value as (...args: unknown[]) => unknown
          if (property === 'query') {
            return (config: { text: string }, ...rest: unknown[]) => {
              statements.push(config.text.trim().split(/\s+/)[0]!)
              return method.call(object, config, ...rest)
            }
          }
          if (property === 'connect') {
            return async () => counting((await method.call(object)) as pg.PoolClient)
          }
          return method.bind(object)
        },
      })
    const counted = counting(real)
    const patching = createPostgresStore({ pool: counted, schema, createTable: false })
    const time = Date.now()
    const written = await patching.patch(id, {
      data: { set: new Map([['cart', ['tea']]]), deleted: new Set(['user']) },
      system: { set: new Map(), deleted: new Set(['csrf']) },
      lastActive: time,
      expires: time + HOUR,
      owner: 'u2',
    })
    assert.equal(written, true)
    assert.deepEqual(statements, ['UPDATE'])
    const read = await store.get(id)
    assert.deepEqual([read?.data, read?.system, read?.owner], [{ cart: ['tea'] }, {}, 'u2'])
  })

  it('prunes expired rows in batches and keeps live ones', async () => {
    const table = uniqueName()
    const store = createPostgresStore({ pool: pool(), schema, table, pruneBatchSize: 2 })
    const time = Date.now()
    for (let i = 0; i < 5; i++) await store.set(newIdHash(), record({ expires: time - 1000 - i }))
    const live = newIdHash()
    await store.set(live, record())
    assert.equal(await store.prune(), 5)
    assert.equal(await store.prune(), 0)
    assert.notEqual(await store.get(live), undefined)
  })

  it('takes times with fractions of a millisecond (a clock built on performance.now())', async () => {
    const table = uniqueName()
    const store = createPostgresStore({
      pool: pool(),
      schema,
      table,
      now: () => performance.timeOrigin + performance.now(),
    })
    const time = Date.now() + 0.25
    const id = newIdHash()
    const written = record({ created: time, lastActive: time, expires: time + HOUR, owner: 'u1' })
    assert.equal(await store.set(id, written), true)
    const read = await store.get(id)
    assert.deepEqual(
      [read?.created, read?.lastActive, read?.expires],
      [Math.floor(time), Math.floor(time), Math.floor(time + HOUR)],
    )
    const patch = { data: { set: new Map([['a', 1]]), deleted: new Set<string>() } }
    const system = { set: new Map(), deleted: new Set<string>() }
    const later = { lastActive: time + 1.5, expires: time + 2 * HOUR + 0.5 }
    assert.equal(await store.patch(id, { ...patch, system, ...later }), true)
    assert.equal(await store.touch(id, later.lastActive, later.expires), true)
    assert.equal(await store.set(id, written, { onlyIfExists: true }), true)
    assert.deepEqual(
      (await store.listByOwner('u1')).map((entry) => entry.idHash),
      [id],
    )
    await store.set(newIdHash(), record({ expires: time - 1000.5 }))
    assert.equal(await store.prune(), 1)
    assert.equal(await store.deleteByOwner('u1'), 1)
  })

  it('quotes schema and table names', async () => {
    const table = `odd "name"; DROP TABLE x; --`
    const store = createPostgresStore({ pool: pool(), schema, table })
    const id = newIdHash()
    await store.set(id, record())
    assert.equal((await store.get(id))?.data.user, 'ada')
    const { rows } = await pool().query<{ name: string }>(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2',
      [schema, table],
    )
    assert.deepEqual(rows, [{ name: table }])
  })

  it('prints the statements that create its table for migrations', () => {
    const sql = postgresSessionTableSQL({ schema: 'auth', table: 'sessions' })
    assert.match(sql, /CREATE TABLE IF NOT EXISTS "auth"\."sessions"/)
    assert.match(sql, /id_hash text PRIMARY KEY/)
    assert.match(sql, /ON "auth"\."sessions" \(owner\)/)
  })

  it('fails with StoreUnavailableError within queryTimeoutMs when a query is blocked', async () => {
    const store = createPostgresStore({ pool: pool(), schema, queryTimeoutMs: 300 })
    const id = newIdHash()
    await store.set(id, record())
    const locker = await pool().connect()
    try {
      await locker.query('BEGIN')
      await locker.query(
        `SELECT 1 FROM "${schema}".cloakroom_sessions WHERE id_hash = $1 FOR UPDATE`,
        [id],
      )
      const started = performance.now()
      await assert.rejects(store.touch(id, Date.now(), Date.now() + HOUR), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError)
        assert.equal(error.code, 'ERR_STORE_UNAVAILABLE')
        assert.ok(error.cause instanceof Error)
        return true
      })
      assert.ok(performance.now() - started < 1500)
    } finally {
      await locker.query('ROLLBACK')
      locker.release()
    }
  })

  it('never sends a query that was still waiting for a pooled connection at its deadline', async () => {
    const small = new pg.Pool({ ...POSTGRES, max: 1 })
    try {
      const store = createPostgresStore({ pool: small, schema, queryTimeoutMs: 200 })
      const id = newIdHash()
      await store.set(id, record({ data: { v: 'old' } }))
      const held = await small.connect()
      const time = Date.now()
      await assert.rejects(
        store.patch(id, {
          data: { set: new Map([['v', 'given up']]), deleted: new Set() },
          system: { set: new Map(), deleted: new Set() },
          lastActive: time,
          expires: time + HOUR,
        }),
        StoreUnavailableError,
      )
      const abandoned = newIdHash()
      await assert.rejects(store.set(abandoned, record({ owner: 'alice' })), StoreUnavailableError)
      held.release()
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.deepEqual((await store.get(id))?.data, { v: 'old' }, 'the failed patch never ran')
      assert.equal(await store.get(abandoned), undefined, 'the failed set never ran')
    } finally {
      await small.end()
    }
  })

  it('works for a role with only read and write grants on a table that exists', async () => {
    const admin = pool()
    const owner = createPostgresStore({ pool: admin, schema, table: 'granted_sessions' })
    await owner.set(newIdHash(), record())
    const role = uniqueName()
    await admin.query(`CREATE ROLE "${role}" LOGIN`)
    const limited = new pg.Pool({ ...POSTGRES, user: role, max: 2 })
    try {
      await admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO "${role}"`)
      await admin.query(
        `GRANT SELECT, INSERT, UPDATE, DELETE ON "${schema}".granted_sessions TO "${role}"`,
      )
      const store = createPostgresStore({ pool: limited, schema, table: 'granted_sessions' })
      const idHash = newIdHash()
      await store.set(idHash, record({ data: { user: 'ann' } }))
      assert.deepEqual((await store.get(idHash))?.data, { user: 'ann' })
    } finally {
      await limited.end()
      await admin.query(`DROP OWNED BY "${role}"`)
      await admin.query(`DROP ROLE "${role}"`)
    }
  })

  it('fails with StoreUnavailableError when the server is unreachable', async () => {
    const unreachable = new pg.Pool({ ...POSTGRES, port: 1 })
    const store = createPostgresStore({ pool: unreachable, queryTimeoutMs: 500 })
    try {
      await assert.rejects(store.get(newIdHash()), StoreUnavailableError)
    } finally {
      await unreachable.end()
    }
  })

  it("adds one 'error' listener to a pool however many stores use it", async () => {
    const own = new pg.Pool({ ...POSTGRES })
    try {
      for (let i = 0; i < 20; i++) await createPostgresStore({ pool: own, schema }).close()
      assert.equal(own.listenerCount('error'), 1)
    } finally {
      await own.end()
    }
  })

  it('refuses options it cannot use', () => {
    const invalid = (options: Parameters<typeof createPostgresStore>[0], option: string): void => {
      assert.throws(
        () => createPostgresStore(options),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.code === 'ERR_INVALID_OPTION' &&
          error.option === option,
      )
    }
    invalid({} as Parameters<typeof createPostgresStore>[0], 'pool')
    invalid({ pool: pool(), schema: '' }, 'schema')
    invalid({ pool: pool(), table: 'a\0b' }, 'table')
    invalid({ pool: pool(), table: 'x'.repeat(64) }, 'table')
    invalid({ pool: pool(), queryTimeoutMs: -1 }, 'queryTimeoutMs')
    invalid({ pool: pool(), pruneBatchSize: 0 }, 'pruneBatchSize')
  })
})
