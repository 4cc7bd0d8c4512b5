import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, it } from 'node:test'
import type { JsonValue } from '../session/serializer.js'
import type { SessionPatch, SessionStore, StoredSession } from '../store/session-store.js'

/** Options of {@link runStoreSuite}. */
export interface StoreSuiteOptions {
  /**
   * Skip the whole suite, with the reason shown by the test runner (a server that is not
   * reachable, for example).
   * @defaultValue false
   */
  readonly skip?: boolean | string
  /**
   * How many patches the concurrency test runs at once on one record.
   * @defaultValue 50
   */
  readonly concurrency?: number
  /**
   * Called after each test with the store it used, after the store's own `close()`: drop test
   * keys or tables here.
   * @defaultValue undefined
   */
  readonly cleanup?: (store: SessionStore) => Promise<void> | void
}

const HOUR = 3_600_000

/** A fresh record key of the real shape: SHA-256 of 32 random bytes, base64url. */
function newIdHash(): string {
  return createHash('sha256').update(randomBytes(32)).digest('base64url')
}

function record(overrides: Partial<StoredSession> = {}): StoredSession {
  const time = Date.now()
  return {
    data: { user: 'ada', cart: { items: ['tea'] } },
    system: { csrf: 'token' },
    created: time - 1000,
    lastActive: time,
    expires: time + HOUR,
    ...overrides,
  }
}

function patchOf(
  data: Record<string, JsonValue> = {},
  deleted: string[] = [],
  extra: Partial<SessionPatch> = {},
): SessionPatch {
  const time = Date.now()
  return {
    data: { set: new Map(Object.entries(data)), deleted: new Set(deleted) },
    system: { set: new Map(), deleted: new Set() },
    lastActive: time,
    expires: time + HOUR,
    ...extra,
  }
}

/**
 * Runs the store conformance suite: the behaviour every {@link SessionStore} must have for the
 * store factory to be correct and safe (field-level patches, no resurrection, expiry, the owner
 * index). Every store in Cloakroom passes it; run it on your own store too.
 *
 * @remarks
 * Call it at the top level of a test file run by `node --test`. `makeStore` is called once per
 * test; the store is closed (`close()`) afterwards. Records are keyed by fresh random hashes and
 * owners, so a store shared between runs does not disturb the suite. Expired records are made
 * with an expiry in the past (by the real clock), never by waiting.
 *
 * @param name the store's name, used as the suite's title
 * @param makeStore returns a store ready for use
 * @param options skipping, concurrency and cleanup
 *
 * @example
 * ```ts
 * import { runStoreSuite } from 'cloakroom/testing'
 * import { createMemoryStore } from 'cloakroom'
 * runStoreSuite('memory store', () => createMemoryStore())
 * ```
 */
export function runStoreSuite(
  name: string,
  makeStore: () => Promise<SessionStore> | SessionStore,
  options: StoreSuiteOptions = {},
): void {
  const concurrency = options.concurrency ?? 50
  const opened: SessionStore[] = []
  const open = async (): Promise<SessionStore> => {
    const store = await makeStore()
    opened.push(store)
    return store
  }

  describe(`runStoreSuite: ${name}`, { skip: options.skip ?? false }, () => {
    afterEach(async () => {
      for (const store of opened.splice(0)) {
        await store.close?.()
        await options.cleanup?.(store)
      }
    })

    describe('get and set', () => {
      it('returns undefined for a record that was never written', async () => {
        const store = await open()
        assert.equal(await store.get(newIdHash()), undefined)
      })

      it('returns the record that was set, field for field', async () => {
        const store = await open()
        const id = newIdHash()
        const written = record({ owner: 'user-1' })
        assert.equal(await store.set(id, written), true)
        assert.deepEqual(await store.get(id), written)
      })

      it('keeps values exactly: nested objects, null, unicode, and keys that look special', async () => {
        const store = await open()
        const id = newIdHash()
        const data: Record<string, JsonValue> = {
          nested: { a: { b: [1, 'two', null, { c: false }] }, empty: {} },
          nothing: null,
          text: 'line\nbreak "quoted" \\ é 😀',
          'a.b': 1,
          'x[0]': 2,
          $: 3,
          'quote"key': 4,
          'back\\slash': 5,
          '': 6,
          big: 2 ** 52,
          fraction: -0.25,
        }
        Object.defineProperty(data, '__proto__', {
          value: 'plain',
          enumerable: true,
          configurable: true,
          writable: true,
        })
        await store.set(id, record({ data }))
        const read = await store.get(id)
        assert.deepEqual(read?.data, data)
        assert.equal(Object.hasOwn(read.data, '__proto__'), true, '__proto__ stays an own key')
        assert.equal(Object.getPrototypeOf(read.data), Object.prototype)
      })

      it('keeps any string: U+0000 and unpaired surrogates in keys and values, on set and patch', async () => {
        const store = await open()
        const id = newIdHash()
        const awkward = 'nul\u0000 high\ud800 low\udc00 pair😀 \\u0000'
        const data: Record<string, JsonValue> = {
          plain: awkward,
          nested: { [awkward]: [awkward, { deeper: awkward }] },
          [awkward]: 'a key like that',
          lookalike: { '\u0001json': '[1]' },
          '\u0001"x"': 'a key like an escaped one',
        }
        const system: Record<string, JsonValue> = { flash: [awkward] }
        await store.set(id, record({ data, system }))
        const read = await store.get(id)
        assert.deepEqual(read?.data, data)
        assert.deepEqual(read?.system, system)

        await store.patch(
          id,
          patchOf({ patched: awkward, [`${awkward}2`]: { [awkward]: awkward } }, [awkward]),
        )
        assert.deepEqual((await store.get(id))?.data, {
          plain: data.plain,
          nested: data.nested,
          lookalike: data.lookalike,
          '\u0001"x"': data['\u0001"x"'],
          patched: awkward,
          [`${awkward}2`]: { [awkward]: awkward },
        })
      })

      it('replaces the whole record on set', async () => {
        const store = await open()
        const id = newIdHash()
        await store.set(id, record({ data: { a: 1, b: 2 } }))
        await store.set(id, record({ data: { c: 3 }, system: {} }))
        const read = await store.get(id)
        assert.deepEqual(read?.data, { c: 3 })
        assert.deepEqual(read?.system, {})
      })

      it('does not share objects with the caller', async () => {
        const store = await open()
        const id = newIdHash()
        const written = record({ data: { list: [1] } })
        await store.set(id, written)
        const first = await store.get(id)
        ;(first!.data.list as number[]).push(2)
        assert.deepEqual((await store.get(id))?.data, { list: [1] })
      })
    })

    describe('set with onlyIfExists', () => {
      it('writes nothing and returns false when the record is missing', async () => {
        const store = await open()
        const id = newIdHash()
        assert.equal(await store.set(id, record(), { onlyIfExists: true }), false)
        assert.equal(await store.get(id), undefined)
      })

      it('replaces an existing record and returns true', async () => {
        const store = await open()
        const id = newIdHash()
        await store.set(id, record({ data: { a: 1 } }))
        assert.equal(await store.set(id, record({ data: { b: 2 } }), { onlyIfExists: true }), true)
        assert.deepEqual((await store.get(id))?.data, { b: 2 })
      })
    })

    describe('patch', () => {
      it('sets and removes only the given keys and moves the times, keeping created', async () => {
        const store = await open()
        const id = newIdHash()
        const written = record({
          data: { keep: 1, change: 2, drop: 3 },
          system: { csrf: 't', flash: ['x'] },
        })
        await store.set(id, written)
        const time = Date.now()
        const patch: SessionPatch = {
          data: {
            set: new Map<string, JsonValue>([
              ['change', 20],
              ['added', { deep: [1] }],
            ]),
            deleted: new Set(['drop']),
          },
          system: { set: new Map<string, JsonValue>([['csrf', 'u']]), deleted: new Set(['flash']) },
          lastActive: time + 5,
          expires: time + 2 * HOUR,
        }
        assert.equal(await store.patch(id, patch), true)
        const read = await store.get(id)
        assert.deepEqual(read?.data, { keep: 1, change: 20, added: { deep: [1] } })
        assert.deepEqual(read?.system, { csrf: 'u' })
        assert.equal(read?.created, written.created)
        assert.equal(read?.lastActive, time + 5)
        assert.equal(read?.expires, time + 2 * HOUR)
      })

      it('replaces an object value instead of merging into it, and stores null as a value', async () => {
        const store = await open()
        const id = newIdHash()
        await store.set(id, record({ data: { cart: { items: ['tea'], total: 3 }, note: 'x' } }))
        await store.patch(id, patchOf({ cart: { items: [] }, note: null }))
        assert.deepEqual((await store.get(id))?.data, { cart: { items: [] }, note: null })
      })

      it('returns false and creates nothing when the record is missing', async () => {
        const store = await open()
        const id = newIdHash()
        assert.equal(await store.patch(id, patchOf({ a: 1 })), false)
        assert.equal(await store.get(id), undefined)
      })

      it('keeps both of two patches that change different keys', async () => {
        const store = await open()
        const id = newIdHash()
        await store.set(id, record({ data: {} }))
        await store.patch(id, patchOf({ a: 1 }))
        await store.patch(id, patchOf({ b: 2 }))
        assert.deepEqual((await store.get(id))?.data, { a: 1, b: 2 })
      })

      it(`keeps all of ${concurrency} concurrent patches that each set a different key`, async () => {
        const store = await open()
        const id = newIdHash()
        await store.set(id, record({ data: { base: true } }))
        const results = await Promise.all(
          Array.from({ length: concurrency }, (_, i) =>
            store.patch(id, patchOf({ [`key${i}`]: i })),
          ),
        )
        assert.deepEqual(
          results,
          Array.from({ length: concurrency }, () => true),
        )
        const data = (await store.get(id))?.data ?? {}
        const expected: Record<string, JsonValue> = { base: true }
        for (let i = 0; i < concurrency; i++) expected[`key${i}`] = i
        assert.deepEqual(data, expected)
      })

      it(`keeps every change of ${concurrency} concurrent patches and touches that set and remove keys in both namespaces`, async () => {
        const store = await open()
        const id = newIdHash()
        const data: Record<string, JsonValue> = {}
        const system: Record<string, JsonValue> = {}
        for (let i = 0; i < concurrency; i++) {
          data[`old${i}`] = i
          system[`old${i}`] = i
        }
        await store.set(id, record({ data, system }))
        const time = Date.now()
        // Each patch removes one old key and adds one new key, in one namespace; touches move
        // only the times. A store that rewrites the whole record it read loses some of them.
        const calls = Array.from({ length: concurrency }, (_, i) => {
          const change = { set: new Map([[`new${i}`, i]]), deleted: new Set([`old${i}`]) }
          const none = { set: new Map<string, JsonValue>(), deleted: new Set<string>() }
          if (i % 3 === 2) return store.touch(id, time + i, time + HOUR + i)
          return store.patch(id, {
            data: i % 3 === 0 ? change : none,
            system: i % 3 === 1 ? change : none,
            lastActive: time + i,
            expires: time + HOUR + i,
          })
        })
        assert.deepEqual(
          await Promise.all(calls),
          calls.map(() => true),
        )
        const expectedData = { ...data }
        const expectedSystem = { ...system }
        for (let i = 0; i < concurrency; i++) {
          if (i % 3 === 2) continue
          const target = i % 3 === 0 ? expectedData : expectedSystem
          delete target[`old${i}`]
          target[`new${i}`] = i
        }
        const read = await store.get(id)
        assert.deepEqual(read?.data, expectedData)
        assert.deepEqual(read?.system, expectedSystem)
      })

      it('sets, changes and removes the owner', async () => {
        const store = await open()
        const id = newIdHash()
        const owner = `owner-${newIdHash()}`
        const other = `owner-${newIdHash()}`
        await store.set(id, record())
        await store.patch(id, patchOf({}, [], { owner }))
        assert.equal((await store.get(id))?.owner, owner)
        assert.deepEqual(
          (await store.listByOwner(owner)).map((s) => s.idHash),
          [id],
        )
        await store.patch(id, patchOf({}, [], { owner: other }))
        assert.deepEqual(await store.listByOwner(owner), [])
        assert.deepEqual(
          (await store.listByOwner(other)).map((s) => s.idHash),
          [id],
        )
        await store.patch(id, patchOf({ a: 1 }))
        assert.equal((await store.get(id))?.owner, other, 'a patch without owner keeps it')
        await store.patch(id, patchOf({}, [], { owner: null }))
        assert.equal((await store.get(id))?.owner, undefined)
        assert.deepEqual(await store.listByOwner(other), [])
      })
    })

    describe('touch', () => {
      it('moves lastActive and expires without changing the data', async () => {
        const store = await open()
        const id = newIdHash()
        const written = record()
        await store.set(id, written)
        const time = Date.now()
        assert.equal(await store.touch(id, time + 7, time + 3 * HOUR), true)
        const read = await store.get(id)
        assert.deepEqual(read, { ...written, lastActive: time + 7, expires: time + 3 * HOUR })
      })

      it('returns false and creates nothing when the record is missing', async () => {
        const store = await open()
        const id = newIdHash()
        assert.equal(await store.touch(id, Date.now(), Date.now() + HOUR), false)
        assert.equal(await store.get(id), undefined)
      })
    })

    describe('delete', () => {
      it('removes the record', async () => {
        const store = await open()
        const id = newIdHash()
        await store.set(id, record())
        await store.delete(id)
        assert.equal(await store.get(id), undefined)
      })

      it('accepts a record that does not exist', async () => {
        const store = await open()
        await store.delete(newIdHash())
      })

      it('never lets a later patch, touch or conditional set bring the record back', async () => {
        const store = await open()
        const id = newIdHash()
        await store.set(id, record())
        await store.delete(id)
        assert.equal(await store.patch(id, patchOf({ late: 1 })), false)
        assert.equal(await store.touch(id, Date.now(), Date.now() + HOUR), false)
        assert.equal(await store.set(id, record(), { onlyIfExists: true }), false)
        assert.equal(await store.get(id), undefined)
      })

      it('lets a patch racing a delete either land before it or write nothing', async () => {
        const store = await open()
        const id = newIdHash()
        await store.set(id, record())
        await Promise.all([store.patch(id, patchOf({ late: 1 })), store.delete(id)])
        assert.equal(await store.get(id), undefined)
      })
    })

    describe('expiry', () => {
      it('never returns a record whose expiry has passed', async () => {
        const store = await open()
        const id = newIdHash()
        const time = Date.now()
        await store.set(
          id,
          record({ created: time - 2 * HOUR, lastActive: time - HOUR, expires: time - 1000 }),
        )
        assert.equal(await store.get(id), undefined)
      })

      it('does not patch, touch or conditionally set an expired record', async () => {
        const store = await open()
        const time = Date.now()
        // A record of its own for each call: a store may drop an expired record when an
        // operation finds it, and the next call must still meet an expired one.
        const expired = async (): Promise<string> => {
          const id = newIdHash()
          await store.set(
            id,
            record({ created: time - 2 * HOUR, lastActive: time - HOUR, expires: time - 1000 }),
          )
          return id
        }
        const ids = [await expired(), await expired(), await expired()] as const
        assert.equal(await store.patch(ids[0], patchOf({ a: 1 })), false)
        assert.equal(await store.touch(ids[1], time, time + HOUR), false)
        assert.equal(await store.set(ids[2], record(), { onlyIfExists: true }), false)
        for (const id of ids) assert.equal(await store.get(id), undefined)
      })

      it('extends the life of a record by touch', async () => {
        const store = await open()
        const id = newIdHash()
        const time = Date.now()
        await store.set(id, record({ expires: time + 60_000 }))
        await store.touch(id, time, time + 2 * HOUR)
        assert.equal((await store.get(id))?.expires, time + 2 * HOUR)
      })
    })

    describe('owner index', () => {
      it("lists an owner's live sessions, and only theirs", async () => {
        const store = await open()
        const owner = `owner-${newIdHash()}`
        const time = Date.now()
        const mine = [newIdHash(), newIdHash()]
        await store.set(
          mine[0]!,
          record({ owner, created: time - 10, lastActive: time - 5, expires: time + HOUR }),
        )
        await store.set(mine[1]!, record({ owner }))
        await store.set(newIdHash(), record({ owner: `owner-${newIdHash()}` }))
        await store.set(newIdHash(), record())
        await store.set(newIdHash(), record({ owner, expires: time - 1000 }))
        const listed = await store.listByOwner(owner)
        assert.deepEqual(listed.map((s) => s.idHash).sort(), [...mine].sort())
        const first = listed.find((s) => s.idHash === mine[0])!
        const { idHash, created, lastActive, expires } = first
        assert.deepEqual(
          { idHash, created, lastActive, expires },
          { idHash: mine[0], created: time - 10, lastActive: time - 5, expires: time + HOUR },
        )
      })

      it('returns an empty list for an unknown owner', async () => {
        const store = await open()
        assert.deepEqual(await store.listByOwner(`owner-${newIdHash()}`), [])
      })

      it('forgets deleted sessions and sessions whose owner was replaced by set', async () => {
        const store = await open()
        const owner = `owner-${newIdHash()}`
        const [a, b] = [newIdHash(), newIdHash()]
        await store.set(a, record({ owner }))
        await store.set(b, record({ owner }))
        await store.delete(a)
        await store.set(b, record())
        assert.deepEqual(await store.listByOwner(owner), [])
      })

      it("deletes all of an owner's sessions and counts them", async () => {
        const store = await open()
        const owner = `owner-${newIdHash()}`
        const ids = [newIdHash(), newIdHash(), newIdHash()]
        for (const id of ids) await store.set(id, record({ owner }))
        const bystander = newIdHash()
        await store.set(bystander, record({ owner: `owner-${newIdHash()}` }))
        assert.equal(await store.deleteByOwner(owner), 3)
        for (const id of ids) assert.equal(await store.get(id), undefined)
        assert.deepEqual(await store.listByOwner(owner), [])
        assert.notEqual(await store.get(bystander), undefined)
      })

      it('keeps the excepted session ("log out other devices")', async () => {
        const store = await open()
        const owner = `owner-${newIdHash()}`
        const [current, other1, other2] = [newIdHash(), newIdHash(), newIdHash()]
        for (const id of [current, other1, other2]) await store.set(id, record({ owner }))
        assert.equal(await store.deleteByOwner(owner, current), 2)
        assert.notEqual(await store.get(current), undefined)
        assert.equal(await store.get(other1), undefined)
        assert.equal(await store.get(other2), undefined)
        assert.deepEqual(
          (await store.listByOwner(owner)).map((s) => s.idHash),
          [current],
        )
      })
    })

    describe('prune', () => {
      it('removes expired records and keeps live ones (prune() where the store has one)', async () => {
        const store = await open()
        const time = Date.now()
        const [live, dead] = [newIdHash(), newIdHash()]
        await store.set(live, record())
        await store.set(dead, record({ expires: time - 1000 }))
        if (store.prune !== undefined) {
          // A store that keeps expired records until pruned counts them in stats(), so this
          // checks that prune() really deletes them (get() alone hides expired records).
          const before = await store.stats?.()
          const removed = await store.prune()
          assert.ok(Number.isInteger(removed) && removed >= 0)
          if (before !== undefined) {
            assert.ok(removed >= before.expired, 'prune() deletes every expired record')
            assert.equal((await store.stats!()).expired, 0)
          }
          assert.equal(await store.prune(), 0, 'a second prune() finds nothing left')
        }
        assert.notEqual(await store.get(live), undefined)
        assert.equal(await store.get(dead), undefined)
      })
    })
  })
}
