import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import Database from 'better-sqlite3'
import type { JsonValue } from '../session/serializer.js'
import type { SessionPatch, StoredSession } from './session-store.js'
import { createSqliteStore } from './sqlite-store.js'

const root = mkdtempSync(join(tmpdir(), 'cloakroom-sqlite-'))
after(() => rmSync(root, { recursive: true, force: true }))

let count = 0
const freshFile = (): string => join(root, `db-${count++}.sqlite`)
const newIdHash = (): string => createHash('sha256').update(randomBytes(32)).digest('base64url')
const record = (data: Record<string, JsonValue> = {}): StoredSession => ({
  data,
  system: {},
  created: Date.now(),
  lastActive: Date.now(),
  expires: Date.now() + 3_600_000,
})
const patchOf = (set: Record<string, JsonValue>, deleted: string[] = []): SessionPatch => ({
  data: { set: new Map(Object.entries(set)), deleted: new Set(deleted) },
  system: { set: new Map(), deleted: new Set() },
  lastActive: Date.now(),
  expires: Date.now() + 3_600_000,
})

describe('createSqliteStore', () => {
  it('opens a file in WAL mode with a busy timeout, and creates the schema on first use', async () => {
    const file = freshFile()
    const store = createSqliteStore({ database: file, busyTimeoutMs: 1234 })
    const probe = new Database(file)
    try {
      const tables = () =>
        probe.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all()
      assert.deepEqual(tables(), [], 'nothing is created before the first call')
      assert.equal(await store.get(newIdHash()), undefined)
      assert.deepEqual(tables(), [{ name: 'cloakroom_sessions' }])
      assert.equal(probe.pragma('journal_mode', { simple: true }), 'wal')
    } finally {
      probe.close()
      await store.close()
    }
  })

  it('uses a database of its own, sets a busy timeout only where none is set, and leaves it open', async () => {
    const db = new Database(freshFile())
    db.pragma('busy_timeout = 0')
    const store = createSqliteStore({ database: db, table: 'my_sessions' })
    await store.set(newIdHash(), record({ a: 1 }))
    assert.equal(db.pragma('busy_timeout', { simple: true }), 2000)
    await store.close()
    assert.equal(db.open, true)
    assert.equal((db.prepare('SELECT count(*) AS n FROM my_sessions').get() as { n: number }).n, 1)
    db.close()
  })

  it('applies a patch of many keys in one statement', async () => {
    const store = createSqliteStore({ database: ':memory:' })
    const id = newIdHash()
    const initial: Record<string, JsonValue> = {}
    for (let i = 0; i < 120; i++) initial[`old${i}`] = i
    await store.set(id, record(initial))
    const set: Record<string, JsonValue> = {}
    for (let i = 0; i < 130; i++) set[`new${i}`] = { i }
    const deleted = Array.from({ length: 110 }, (_, i) => `old${i}`)
    assert.equal(await store.patch(id, patchOf(set, deleted)), true)
    const data = (await store.get(id))!.data
    assert.equal(Object.keys(data).length, 10 + 130)
    assert.deepEqual(data.new129, { i: 129 })
    assert.equal(data.old110, 110)
    assert.equal('old0' in data, false)
    await store.close()
  })

  it('shares sessions between two connections on one file, without resurrection', async () => {
    const file = freshFile()
    const first = createSqliteStore({ database: file })
    const second = createSqliteStore({ database: file })
    try {
      const id = newIdHash()
      await first.set(id, record({ base: 0 }))
      await Promise.all([first.patch(id, patchOf({ a: 1 })), second.patch(id, patchOf({ b: 2 }))])
      assert.deepEqual((await second.get(id))?.data, { base: 0, a: 1, b: 2 })
      await second.delete(id)
      assert.equal(await first.patch(id, patchOf({ late: 1 })), false)
      assert.equal(await first.get(id), undefined)
    } finally {
      await first.close()
      await second.close()
    }
  })

  it('keeps every change of two processes patching one session at the same time', async () => {
    const file = freshFile()
    const store = createSqliteStore({ database: file })
    const id = newIdHash()
    await store.set(id, record({}))
    const script = `
      import { createSqliteStore } from ${JSON.stringify(import.meta.resolve('./sqlite-store.ts'))}
      const store = createSqliteStore({ database: ${JSON.stringify(file)} })
      process.stdout.write('ready\\n')
      for (let i = 0; i < 300; i++) {
        const time = Date.now()
        const ok = await store.patch(${JSON.stringify(id)}, {
          data: { set: new Map([['child' + i, i]]), deleted: new Set() },
          system: { set: new Map(), deleted: new Set() },
          lastActive: time,
          expires: time + 3600000,
        })
        if (!ok) process.exit(2)
      }
      await store.close()
    `
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    await once(child.stdout, 'data')
    const exited = once(child, 'exit')
    for (let i = 0; i < 300; i++) {
      assert.equal(await store.patch(id, patchOf({ [`parent${i}`]: i })), true)
      // Let the other process take the write lock in between.
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    const [code] = (await exited) as [number | null]
    assert.equal(code, 0)
    const data = (await store.get(id))!.data
    assert.equal(Object.keys(data).length, 600)
    assert.equal(data.child299, 299)
    assert.equal(data.parent299, 299)
    await store.close()
  })

  it('fails a write with StoreUnavailableError once busyTimeoutMs has passed under a lock held elsewhere', async () => {
    const file = freshFile()
    const store = createSqliteStore({ database: file, busyTimeoutMs: 200 })
    const id = newIdHash()
    await store.set(id, record({ a: 1 }))
    const other = new Database(file)
    other.prepare('BEGIN IMMEDIATE').run()
    try {
      const started = performance.now()
      await assert.rejects(store.patch(id, patchOf({ b: 2 })), (error: unknown) => {
        assert.equal((error as { code: string }).code, 'ERR_STORE_UNAVAILABLE')
        assert.match(String(((error as Error).cause as Error).message), /locked|busy/i)
        return true
      })
      const waited = performance.now() - started
      assert.ok(waited >= 150 && waited < 1500, `waited ${Math.round(waited)} ms`)
    } finally {
      other.prepare('ROLLBACK').run()
      other.close()
      await store.close()
    }
  })

  it('reports database failures as StoreUnavailableError', async () => {
    const db = new Database(':memory:')
    const store = createSqliteStore({ database: db })
    db.close()
    await assert.rejects(store.get(newIdHash()), (error: unknown) => {
      assert.equal((error as { code: string }).code, 'ERR_STORE_UNAVAILABLE')
      assert.ok((error as Error).cause instanceof Error)
      return true
    })
  })

  it('still takes the table under its former option name, tableName', async () => {
    const db = new Database(':memory:')
    const store = createSqliteStore({ database: db, tableName: 'old_name' })
    await store.set(newIdHash(), record({ a: 1 }))
    assert.equal((db.prepare('SELECT count(*) AS n FROM old_name').get() as { n: number }).n, 1)
    await store.close()
    db.close()
  })

  it('refuses an unsafe table name and a database it cannot open', () => {
    assert.throws(() => createSqliteStore({ database: ':memory:', table: 'x"; DROP' }), {
      code: 'ERR_INVALID_OPTION',
    })
    assert.throws(
      () => createSqliteStore({ database: ':memory:', table: 'a', tableName: 'b' }),
      /tableName is its former name/,
    )
    // A path under a regular file: its directory cannot be made.
    const file = freshFile()
    writeFileSync(file, '')
    assert.throws(() => createSqliteStore({ database: join(file, 'dir', 'x.db') }), {
      code: 'ERR_INVALID_OPTION',
    })
  })

  it('creates the missing directories of its file with mode 0700', async () => {
    const dir = join(root, `new-${count++}`, '.data')
    const store = createSqliteStore({ database: join(dir, 'sessions.db') })
    await store.set(newIdHash(), record({ a: 1 }))
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    await store.close()
  })

  it('reads an expired row of a read-only database as no session, leaving it for prune', async () => {
    const file = freshFile()
    const writer = createSqliteStore({ database: file })
    const id = newIdHash()
    await writer.set(id, { ...record({ a: 1 }), expires: Date.now() - 1000 })
    await writer.close()
    const db = new Database(file, { readonly: true })
    const store = createSqliteStore({ database: db, createTable: false })
    assert.equal(await store.get(id), undefined)
    const left = db.prepare('SELECT count(*) AS n FROM cloakroom_sessions').get() as { n: number }
    assert.equal(left.n, 1)
    await store.close()
    db.close()
  })

  it('reads a row whose data was changed by hand into something else as no session', async () => {
    const db = new Database(':memory:')
    const store = createSqliteStore({ database: db })
    const [broken, listed] = [newIdHash(), newIdHash()]
    await store.set(broken, record({ a: 1 }))
    await store.set(listed, record({ a: 1 }))
    db.prepare('UPDATE cloakroom_sessions SET data = ? WHERE id_hash = ?').run('{"a":', broken)
    db.prepare('UPDATE cloakroom_sessions SET system = ? WHERE id_hash = ?').run('[1]', listed)
    assert.equal(await store.get(broken), undefined)
    assert.equal(await store.get(listed), undefined)
    await store.close()
    db.close()
  })
})
