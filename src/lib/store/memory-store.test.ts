import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, it, mock } from 'node:test'
import { createMemoryStore } from './memory-store.js'
import type { StoredSession } from './session-store.js'

const record = (expires: number, owner?: string): StoredSession => ({
  data: { a: 1 },
  system: {},
  created: 0,
  lastActive: 0,
  expires,
  ...(owner === undefined ? {} : { owner }),
})

describe('createMemoryStore', () => {
  it('drops the least recently used session beyond maxEntries', async () => {
    const store = createMemoryStore({ maxEntries: 2, sweepIntervalMs: null, now: () => 0 })
    await store.set('a', record(100, 'ada'))
    await store.set('b', record(100))
    await store.get('a')
    await store.set('c', record(100))
    assert.equal(store.size, 2)
    assert.notEqual(await store.get('a'), undefined, 'recently read, kept')
    assert.equal(await store.get('b'), undefined, 'least recently used, dropped')
    await store.set('d', record(100))
    await store.set('e', record(100))
    assert.deepEqual(await store.listByOwner('ada'), [], 'the owner index forgets evicted sessions')
  })

  it('sweeps expired sessions on its timer', async () => {
    mock.timers.enable({ apis: ['setInterval'] })
    try {
      let time = 0
      const store = createMemoryStore({ sweepIntervalMs: 1000, now: () => time })
      await store.set('old', record(500))
      await store.set('live', record(5000))
      time = 1000
      mock.timers.tick(1000)
      assert.equal(store.size, 1)
      await store.close()
      time = 6000
      mock.timers.tick(5000)
      assert.equal(store.size, 1, 'close() stops the timer')
    } finally {
      mock.timers.reset()
    }
  })

  it('does not keep the process alive with its sweep timer', async () => {
    const script = `import { createMemoryStore } from ${JSON.stringify(import.meta.resolve('./memory-store.ts'))}
createMemoryStore({ sweepIntervalMs: 1000 })`
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        stdio: 'ignore',
      },
    )
    const timer = setTimeout(() => child.kill(), 20_000)
    const [code] = (await once(child, 'exit')) as [number | null]
    clearTimeout(timer)
    assert.equal(code, 0, 'the process exited on its own')
  })

  it('prunes expired sessions on request', async () => {
    let time = 0
    const store = createMemoryStore({ sweepIntervalMs: null, now: () => time })
    await store.set('old', record(10, 'ada'))
    await store.set('live', record(100, 'ada'))
    time = 50
    assert.equal(await store.prune(), 1)
    assert.deepEqual(
      (await store.listByOwner('ada')).map((s) => s.idHash),
      ['live'],
    )
  })

  it('treats a record as expired from the millisecond of its expiry', async () => {
    let time = 99
    const store = createMemoryStore({ sweepIntervalMs: null, now: () => time })
    await store.set('a', record(100, 'ada'))
    assert.notEqual(await store.get('a'), undefined)
    time = 100
    assert.equal(await store.get('a'), undefined)
    assert.deepEqual(await store.listByOwner('ada'), [])
  })

  it("deletes an owner's expired records with the live ones, counting only the live", async () => {
    let time = 0
    const store = createMemoryStore({ sweepIntervalMs: null, now: () => time })
    await store.set('old', record(10, 'ada'))
    await store.set('live', record(100, 'ada'))
    await store.set('kept', record(100, 'ada'))
    time = 50
    assert.equal(await store.deleteByOwner('ada', 'kept'), 1)
    assert.equal(store.size, 1, 'only the excepted record is left')
  })

  it('refuses invalid options', () => {
    assert.throws(() => createMemoryStore({ maxEntries: 0 }), { code: 'ERR_INVALID_OPTION' })
    assert.throws(() => createMemoryStore({ sweepIntervalMs: -1 }), { code: 'ERR_INVALID_OPTION' })
  })
})
