import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { ConfigError, type SessionStore, type StoredSession } from 'cloakroom'
import { createFileStore } from 'cloakroom/file'
import { createSqliteStore } from 'cloakroom/sqlite'

const root = mkdtempSync(join(tmpdir(), 'cloakroom-store-stats-'))
after(() => rmSync(root, { recursive: true, force: true }))

const NOW = Date.UTC(2030, 0, 1)
const HOUR = 3_600_000
let count = 0

function record(created: number, expires: number, data: StoredSession['data']): StoredSession {
  return { data, system: { csrf: 't' }, created, lastActive: created, expires }
}

/** Stores 3 live sessions (the largest holds `big`) and `expired` expired ones. */
async function seed(store: SessionStore, expired: number): Promise<void> {
  await store.set('live-a', record(NOW - 3 * HOUR, NOW + HOUR, { user: 'a' }))
  await store.set('live-b', record(NOW - 5 * HOUR, NOW + HOUR, { user: 'b', big: 'x'.repeat(100) }))
  await store.set('live-c', record(NOW - HOUR, NOW + 1, { user: 'c' }))
  for (let i = 0; i < expired; i++) {
    // The oldest records are all expired: they must not count as "oldest".
    await store.set(`dead-${i}`, record(NOW - 99 * HOUR, NOW - i, { user: 'z'.repeat(500) }))
  }
}

/** The data and library fields of `live-b`, as JSON text. */
const LARGEST =
  Buffer.byteLength(JSON.stringify({ user: 'b', big: 'x'.repeat(100) })) +
  Buffer.byteLength(JSON.stringify({ csrf: 't' }))

describe('store.stats() and batched store.prune()', () => {
  it('SQLite: stats counts live and expired rows, the oldest and the largest live session', async () => {
    const store = createSqliteStore({ database: join(root, `s${count++}.db`), now: () => NOW })
    assert.deepEqual(await store.stats(), {
      live: 0,
      expired: 0,
      oldestCreated: null,
      largestBytes: null,
    })
    await seed(store, 5)
    assert.deepEqual(await store.stats(), {
      live: 3,
      expired: 5,
      oldestCreated: NOW - 5 * HOUR,
      largestBytes: LARGEST,
    })
    await store.close()
  })

  it('SQLite: prune deletes in batches, reports progress after each one, and keeps live rows', async () => {
    const store = createSqliteStore({ database: join(root, `s${count++}.db`), now: () => NOW })
    await seed(store, 5)
    const progress: number[] = []
    assert.equal(await store.prune({ batchSize: 2, onProgress: (n) => progress.push(n) }), 5)
    assert.deepEqual(progress, [2, 4, 5])
    assert.equal((await store.stats()).live, 3)
    assert.equal((await store.stats()).expired, 0)
    assert.equal(await store.prune(), 0, 'nothing left; no options needed')
    await assert.rejects(store.prune({ batchSize: 0 }), { code: 'ERR_INVALID_OPTION' })
    await store.close()
  })

  it('file store: stats counts expired records and unusable record files as prunable and live ones by content', async () => {
    const store = createFileStore({ dir: join(root, `f${count++}`), now: () => NOW })
    assert.deepEqual(await store.stats(), {
      live: 0,
      expired: 0,
      oldestCreated: null,
      largestBytes: null,
    })
    await seed(store, 4)
    // Unusable, and named like a record: prunable. Another program's file: not the store's.
    writeFileSync(join(store.dir, `${'t'.repeat(43)}.json`), '{"data":{', { mode: 0o600 })
    writeFileSync(join(store.dir, 'truncated.json'), '{"data":{', { mode: 0o600 })
    assert.deepEqual(await store.stats(), {
      live: 3,
      expired: 5,
      oldestCreated: NOW - 5 * HOUR,
      largestBytes: LARGEST,
    })
  })

  it('file store: prune reports progress every batchSize files and once at the end', async () => {
    const store = createFileStore({ dir: join(root, `f${count++}`), now: () => NOW })
    await seed(store, 4)
    const progress: number[] = []
    assert.equal(await store.prune({ batchSize: 3, onProgress: (n) => progress.push(n) }), 4)
    // 7 files: a report after the 3rd and the 6th file examined, and one at the end.
    assert.equal(progress.length, 3)
    assert.equal(progress.at(-1), 4)
    assert.ok(progress.every((n, i) => i === 0 || n >= progress[i - 1]!))
    assert.deepEqual(await store.stats(), {
      live: 3,
      expired: 0,
      oldestCreated: NOW - 5 * HOUR,
      largestBytes: LARGEST,
    })
    await assert.rejects(store.prune({ batchSize: 1.5 }), (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.equal(error.code, 'ERR_INVALID_OPTION')
      return true
    })
  })
})
