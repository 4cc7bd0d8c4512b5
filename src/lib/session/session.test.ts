import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { InvalidArgumentError, SessionCommittedError, UnserializableValueError } from '../errors.js'
import { jsonSerializer, type Serializer } from './serializer.js'
import { Session, sessionChanges, type SessionInit } from './session.js'

interface Cart {
  items: string[]
}
interface Data {
  user?: string
  cart?: Cart
  count?: number
  when?: Date
  get?: string
}

let clock = 1_000_000
const context = { serializer: jsonSerializer, now: () => clock }
const loaded = (
  data: Record<string, unknown> = {},
  init: Partial<SessionInit> = {},
): Session<Data> =>
  new Session<Data>({ data: Object.entries(data), created: 500, isNew: false, ...init }, context)
const fresh = (): Session<Data> => new Session<Data>({ created: clock, isNew: true }, context)

describe('Session', () => {
  it('reads and writes like a Map', () => {
    const session = fresh()
    assert.equal(session.size, 0)
    assert.equal(session.get('user'), undefined)
    assert.equal(session.set('user', 'ann'), session)
    session.set('count', 2)
    assert.equal(session.get('user'), 'ann')
    assert.equal(session.has('user'), true)
    assert.equal(session.has('cart'), false)
    assert.equal(session.size, 2)
    assert.deepEqual([...session.keys()], ['user', 'count'])
    assert.deepEqual([...session.values()], ['ann', 2])
    assert.deepEqual(
      [...session.entries()],
      [
        ['user', 'ann'],
        ['count', 2],
      ],
    )
    assert.deepEqual(
      [...session],
      [
        ['user', 'ann'],
        ['count', 2],
      ],
    )
    assert.equal(session.delete('user'), true)
    assert.equal(session.delete('user'), false)
    session.clear()
    assert.equal(session.size, 0)
  })

  it('has the dict extras pop, setDefault and update', () => {
    const session = loaded({ user: 'ann', count: 1 })
    assert.equal(session.pop('user'), 'ann')
    assert.equal(session.has('user'), false)
    assert.equal(session.pop('user'), undefined)
    assert.equal(session.pop('user', 'nobody'), 'nobody')
    assert.equal(session.setDefault('count', 5), 1)
    assert.equal(session.setDefault('user', 'bob'), 'bob')
    session.update({ count: 3, user: 'cid' })
    assert.deepEqual(session.toJSON(), { count: 3, user: 'cid' })
  })

  it('visits keys added while iterating, as a Map does', () => {
    const session = loaded({ user: 'ann' })
    const seen: string[] = []
    for (const [key] of session.entries()) {
      seen.push(key)
      if (key === 'user') session.set('count', 1)
    }
    assert.deepEqual(seen, ['user', 'count'])
  })

  it('refuses update() of something that is not an object, changing nothing', () => {
    const session = loaded({ user: 'ann' })
    for (const record of [null, 'user', 5]) {
      assert.throws(() => session.update(record as never), {
        name: 'InvalidArgumentError',
        code: 'ERR_INVALID_ARGUMENT',
      })
    }
    assert.deepEqual(session.toJSON(), { user: 'ann' })
  })

  it('keeps user keys named like methods or prototype properties as plain data', () => {
    const session = fresh() as unknown as Session<Record<string, string>>
    session.set('get', 'data')
    session.set('__proto__', 'data')
    session.set('constructor', 'data')
    assert.equal(session.get('get'), 'data')
    assert.equal(typeof session.get, 'function')
    const copy = session.toJSON()
    assert.equal(Object.getPrototypeOf(copy), Object.prototype)
    assert.deepEqual(Object.keys(copy), ['get', '__proto__', 'constructor'])
  })

  it('reports created and isNew', () => {
    assert.equal(fresh().isNew, true)
    assert.equal(fresh().created, clock)
    const session = loaded({}, { created: 42 })
    assert.equal(session.isNew, false)
    assert.equal(session.created, 42)
  })

  it('returns a deep copy from toJSON', () => {
    const session = loaded({ cart: { items: ['a'] }, when: new Date(5) })
    const copy = session.toJSON()
    copy.cart!.items.push('b')
    assert.deepEqual(session.get('cart'), { items: ['a'] })
    assert.ok(copy.when instanceof Date)
    assert.equal(sessionChanges(session).dataChanges(), undefined)
  })

  it('gives the typed error from toJSON for a value changed in place into something unstorable', () => {
    const session = loaded({ cart: { items: [] } })
    ;(session.get('cart') as { items: unknown[]; hook?: unknown }).hook = () => 1
    assert.throws(() => JSON.stringify(session), {
      code: 'ERR_UNSERIALIZABLE_VALUE',
      message: /cart\.hook/,
    })
  })

  it('refuses keys that are not strings, which the next request would not see', () => {
    const session = fresh()
    for (const key of [Symbol('k'), 1]) {
      for (const write of [
        () => session.set(key as never, 'v' as never),
        () => session.setDefault(key as never, 'v' as never),
      ]) {
        assert.throws(write, { code: 'ERR_INVALID_ARGUMENT', message: /"key"/ })
      }
    }
    assert.equal(session.size, 0)
  })

  it('refuses a value that cannot be stored at set(), naming the key', () => {
    const session = fresh()
    assert.throws(
      () => session.set('cart', new Map() as unknown as Cart),
      (error) => error instanceof UnserializableValueError && error.key === 'cart',
    )
    assert.equal(session.has('cart'), false)
    assert.throws(() => session.update({ user: 'ok', count: Number.NaN }), {
      code: 'ERR_UNSERIALIZABLE_VALUE',
    })
    assert.equal(session.has('user'), false, 'update stores nothing when one value is refused')
  })

  describe('change tracking', () => {
    it('sees nothing when the session is only read', () => {
      const session = loaded({ user: 'ann', cart: { items: ['a'] } })
      session.get('user')
      session.get('cart')
      void [...session.entries()]
      session.toJSON()
      const view = sessionChanges(session)
      assert.equal(view.accessed, true)
      assert.equal(view.dataChanges(), undefined)
    })

    it('does not even resolve a session nobody touched', () => {
      let loads = 0
      const session = new Session(() => {
        loads++
        return { created: 1, isNew: true }
      }, context)
      assert.equal(sessionChanges(session).accessed, false)
      assert.equal(loads, 0)
    })

    it('detects nested mutation without changed()', () => {
      const session = loaded({ cart: { items: ['a'] } })
      session.get('cart')!.items.push('b')
      const changes = sessionChanges(session).dataChanges()
      assert.deepEqual([...changes!.set.keys()], ['cart'])
      assert.equal(JSON.stringify(changes!.set.get('cart')), '{"items":["a","b"]}')
    })

    it('detects nested mutation through entries() and values()', () => {
      const viaEntries = loaded({ cart: { items: [] } })
      for (const [, value] of viaEntries) (value as Cart).items.push('x')
      assert.ok(sessionChanges(viaEntries).dataChanges()?.set.has('cart'))
      const viaValues = loaded({ cart: { items: [] } })
      for (const value of viaValues.values()) (value as Cart).items.push('x')
      assert.ok(sessionChanges(viaValues).dataChanges()?.set.has('cart'))
    })

    it('treats storing an equal value as no change', () => {
      const session = loaded({ user: 'ann', cart: { items: ['a'] } })
      session.set('user', 'ann')
      session.set('cart', { items: ['a'] })
      assert.equal(sessionChanges(session).dataChanges(), undefined)
    })

    it('treats an equal value with its members in another order as no change', () => {
      const session = loaded({ cart: { items: ['a'], note: 'x' } })
      session.get('cart')
      session.set('cart', { note: 'x', items: ['a'] } as Cart)
      assert.equal(sessionChanges(session).dataChanges(), undefined)
    })

    it("compares with a custom serializer's equals, when it has one", () => {
      let equalsCalls = 0
      const serializer: Serializer = {
        encode: (value, key) => jsonSerializer.encode(value, key),
        decode: (json) => jsonSerializer.decode(json),
        equals: (value, json) => {
          equalsCalls++
          return jsonSerializer.equals!(value, json)
        },
      }
      const session = new Session<Data>(
        { data: [['cart', { items: ['a'] }]], created: 500, isNew: false },
        { serializer, now: () => clock },
      )
      session.get('cart')!.items.push('b')
      const changes = sessionChanges(session).dataChanges()!
      assert.equal(equalsCalls, 1)
      assert.deepEqual([...changes.set], [['cart', { items: ['a', 'b'] }]])
      // A change undone in place is no change.
      const undone = new Session<Data>(
        { data: [['cart', { items: ['a'] }]], created: 500, isNew: false },
        { serializer, now: () => clock },
      )
      undone.get('cart')!.items.push('b')
      undone.get('cart')!.items.pop()
      assert.equal(sessionChanges(undone).dataChanges(), undefined)
      assert.equal(equalsCalls, 2)
    })

    it('makes pop of a missing key and a failed delete no-ops', () => {
      const session = loaded({ user: 'ann' })
      session.pop('count')
      session.delete('count')
      assert.equal(sessionChanges(session).dataChanges(), undefined)
    })

    it('reports set and deleted keys separately, and clear() as a whole replacement', () => {
      const session = loaded({ user: 'ann', count: 1 })
      session.set('count', 2)
      session.delete('user')
      let changes = sessionChanges(session).dataChanges()!
      assert.deepEqual([...changes.set], [['count', 2]])
      assert.deepEqual([...changes.deleted], ['user'])
      assert.equal(changes.cleared, false)
      session.clear()
      session.set('user', 'bob')
      changes = sessionChanges(session).dataChanges()!
      assert.equal(changes.cleared, true)
      assert.deepEqual([...changes.set], [['user', 'bob']])
    })

    it('makes clear() replace the stored copy even after every loaded key was deleted', () => {
      const session = loaded({ user: 'ann' })
      session.delete('user')
      session.clear()
      assert.equal(sessionChanges(session).dataChanges()?.cleared, true)
    })

    it('finds nothing to clear when the keys this request added were removed again', () => {
      const session = fresh()
      session.set('user', 'ann')
      session.delete('user')
      session.clear()
      assert.equal(sessionChanges(session).dataChanges(), undefined)
    })

    it('refuses at commit a value changed in place into something unstorable', () => {
      const session = loaded({ cart: { items: [] } })
      ;(session.get('cart')!.items as unknown[]).push(() => 1)
      assert.throws(() => sessionChanges(session).dataChanges(), {
        code: 'ERR_UNSERIALIZABLE_VALUE',
        message: /cart\.items\[0\]/,
      })
    })

    it('refuses at commit, with a typed error, a value made too deep in place', () => {
      const session = loaded({ cart: { items: [] } })
      let deep: unknown = []
      for (let level = 0; level < 50_000; level++) deep = [deep]
      ;(session.get('cart')!.items as unknown[]).push(deep)
      const view = sessionChanges(session)
      view.lock() // freezes the values first, as the factories' commits do
      assert.throws(() => view.dataChanges(), {
        code: 'ERR_UNSERIALIZABLE_VALUE',
        message: /nested more than 256 levels deep/,
      })
    })

    it('marks the session forced by changed()', () => {
      const session = loaded({ user: 'ann' })
      session.changed()
      assert.equal(sessionChanges(session).forced, true)
    })

    it('matches a Map under any sequence of operations', () => {
      const key = fc.constantFrom('user', 'count', 'get', '__proto__')
      const op = fc.oneof(
        fc.record({ kind: fc.constant('set' as const), key, value: fc.integer() }),
        fc.record({ kind: fc.constant('delete' as const), key }),
        fc.record({ kind: fc.constant('pop' as const), key }),
        fc.record({ kind: fc.constant('setDefault' as const), key, value: fc.integer() }),
        fc.record({ kind: fc.constant('clear' as const) }),
      )
      fc.assert(
        fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
          const session = fresh() as unknown as Session<Record<string, number>>
          const model = new Map<string, number>()
          for (const step of ops) {
            switch (step.kind) {
              case 'set':
                session.set(step.key, step.value)
                model.set(step.key, step.value)
                break
              case 'delete':
                assert.equal(session.delete(step.key), model.delete(step.key))
                break
              case 'pop': {
                const expected = model.get(step.key)
                model.delete(step.key)
                assert.equal(session.pop(step.key), expected)
                break
              }
              case 'setDefault':
                if (!model.has(step.key)) model.set(step.key, step.value)
                assert.equal(session.setDefault(step.key, step.value), model.get(step.key))
                break
              case 'clear':
                session.clear()
                model.clear()
                break
            }
          }
          assert.deepEqual([...session.entries()], [...model.entries()])
          // What the factory would store equals the model too.
          assert.deepEqual(Object.entries(sessionChanges(session).encodeData()), [
            ...model.entries(),
          ])
        }),
        { numRuns: 200 },
      )
    })
  })

  describe('invalidate()', () => {
    it('drops all data, resets created and isNew', () => {
      clock = 2_000_000
      const session = loaded({ user: 'ann' }, { created: 7 })
      session.setOwner('ann')
      session.invalidate()
      assert.equal(session.size, 0)
      assert.equal(session.isNew, true)
      assert.equal(session.created, 2_000_000)
      assert.equal(session.owner, undefined)
      const view = sessionChanges(session)
      assert.equal(view.invalidated, true)
      assert.equal(view.isEmpty(), true)
    })

    it('lets data set afterwards start a fresh session', () => {
      const session = loaded({ user: 'ann', count: 1 })
      session.invalidate()
      session.set('user', 'bob')
      const view = sessionChanges(session)
      assert.deepEqual(view.encodeData(), { user: 'bob' })
      assert.equal(view.dataChanges()!.cleared, true)
    })
  })

  describe('regenerate()', () => {
    it('keeps the data, restarts created and drops the CSRF token', () => {
      clock = 3_000_000
      const session = new Session<Data>(
        { data: [['user', 'ann']], system: [['csrf', 'old-token']], created: 9, isNew: false },
        context,
      )
      session.regenerate()
      const view = sessionChanges(session)
      assert.equal(view.regenerated, true)
      assert.equal(session.get('user'), 'ann')
      assert.equal(session.created, 3_000_000)
      assert.equal(view.readSystem('csrf'), undefined)
    })
  })

  describe('setOwner()', () => {
    it('stores the owner apart from user data', () => {
      const session = fresh()
      session.setOwner('u1')
      assert.equal(session.owner, 'u1')
      assert.equal(session.size, 0)
      assert.equal(sessionChanges(session).readSystem('owner'), 'u1')
      session.setOwner(null)
      assert.equal(session.owner, undefined)
    })

    it('refuses an owner that stores cannot index, and changes nothing', () => {
      const session = fresh()
      session.setOwner('kept')
      for (const owner of ['', 'x'.repeat(513), 'nul\u0000', 'half\ud800', '\udc00', 42]) {
        assert.throws(
          () => session.setOwner(owner as string),
          (error: unknown) =>
            error instanceof InvalidArgumentError &&
            error.code === 'ERR_INVALID_ARGUMENT' &&
            error.argument === 'owner',
          JSON.stringify(owner),
        )
      }
      assert.equal(session.owner, 'kept')
      session.setOwner('x'.repeat(512))
      session.setOwner('emoji 😀 and ünïcode')
      assert.equal(session.owner, 'emoji 😀 and ünïcode')
    })
  })

  describe('after commit', () => {
    it('refuses every change with SessionCommittedError, and still allows reads', () => {
      const session = loaded({ user: 'ann' })
      sessionChanges(session).lock()
      const writes: [string, () => unknown][] = [
        ['set', () => session.set('user', 'bob')],
        ['delete', () => session.delete('user')],
        ['pop', () => session.pop('user')],
        ['clear', () => session.clear()],
        ['update', () => session.update({ count: 1 })],
        ['setDefault', () => session.setDefault('count', 1)],
        ['changed', () => session.changed()],
        ['invalidate', () => session.invalidate()],
        ['regenerate', () => session.regenerate()],
        ['setOwner', () => session.setOwner('x')],
      ]
      for (const [name, write] of writes) {
        assert.throws(
          write,
          (error) => error instanceof SessionCommittedError && error.message.includes(name),
          name,
        )
      }
      assert.equal(session.get('user'), 'ann')
    })

    it('makes values read-only, so a change in place throws instead of being lost', () => {
      const shared = { items: ['pear'] }
      const session = loaded({ cart: { items: ['apple'] } })
      const before = session.get('cart')!
      session.set('other' as 'cart', shared)
      sessionChanges(session).lock()
      // Taken before the commit, set in the request, or first read after it: all frozen.
      for (const cart of [before, shared, session.get('cart')!]) {
        assert.throws(() => cart.items.push('late'), TypeError)
      }
      // Below an object the app froze itself, too.
      const frozenOuter = fresh()
      const outer = Object.freeze({ items: ['pear'] })
      frozenOuter.set('cart', outer)
      sessionChanges(frozenOuter).lock()
      assert.throws(() => outer.items.push('late'), TypeError)
      const untouched = loaded({ cart: { items: ['apple'] } })
      sessionChanges(untouched).lock()
      assert.throws(() => untouched.get('cart')!.items.push('late'), TypeError)
      assert.deepEqual(session.get('cart'), { items: ['apple'] })
      // And a flash message queued in the request.
      const message = { text: 'saved', fields: ['name'] }
      const flashed = fresh()
      flashed.flash(message)
      sessionChanges(flashed).lock()
      assert.throws(() => message.fields.push('late'), TypeError)
    })
  })
})
