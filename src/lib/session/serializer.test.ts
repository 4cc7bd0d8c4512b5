import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { UnserializableValueError } from '../errors.js'
import { jsonEqual } from './change-tracking.js'
import { jsonSerializer, plainJsonSerializer, type JsonValue } from './serializer.js'

const roundTrip = (value: unknown): unknown =>
  jsonSerializer.decode(JSON.parse(JSON.stringify(jsonSerializer.encode(value, 'k'))) as JsonValue)

const refusal = (value: unknown, serializer = jsonSerializer): UnserializableValueError => {
  try {
    serializer.encode(value, 'cart')
  } catch (error) {
    assert.ok(error instanceof UnserializableValueError)
    assert.equal(error.code, 'ERR_UNSERIALIZABLE_VALUE')
    assert.equal(error.key, 'cart')
    return error
  }
  assert.fail(`expected ${String(value)} to be refused`)
}

describe('jsonSerializer', () => {
  it('round-trips any JSON value exactly', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // JSON itself cannot tell -0 from 0; compare what JSON keeps.
        assert.deepEqual(roundTrip(value), JSON.parse(JSON.stringify(value)))
      }),
      { numRuns: 300 },
    )
  })

  it('keeps Date values as Dates, at any depth', () => {
    const when = new Date('2026-11-26T10:00:00.123Z')
    const decoded = roundTrip({ when, list: [when], nested: { deeper: when } }) as Record<
      string,
      unknown
    >
    assert.ok(decoded.when instanceof Date)
    assert.equal(decoded.when.getTime(), when.getTime())
    assert.ok((decoded.list as unknown[])[0] instanceof Date)
    assert.ok((decoded.nested as { deeper: unknown }).deeper instanceof Date)
  })

  it('never turns a user object that looks like a tag into a Date', () => {
    const lookalikes = [{ $date: 5 }, { $obj: { $date: 5 } }, { $date: 'x' }, { $other: [1] }]
    for (const value of lookalikes) assert.deepEqual(roundTrip(value), value, JSON.stringify(value))
  })

  it('stores __proto__ and constructor keys as plain data without touching prototypes', () => {
    const text = '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'
    const decoded = jsonSerializer.decode(JSON.parse(text) as JsonValue) as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype)
    assert.deepEqual(Object.keys(decoded), ['__proto__', 'constructor'])
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    const encoded = JSON.stringify(jsonSerializer.encode(decoded, 'k'))
    assert.equal(encoded, text)
  })

  it('refuses values it cannot keep, naming the key and the path', () => {
    class Cart {
      items = []
    }
    class Money extends Date {
      currency = 'EUR'
    }
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    const cases: [unknown, string][] = [
      [() => 1, 'cart'],
      [Symbol('s'), 'cart'],
      [10n, 'cart'],
      [undefined, 'cart'],
      [Number.NaN, 'cart'],
      [Number.POSITIVE_INFINITY, 'cart'],
      [new Date(Number.NaN), 'cart'],
      [new Map(), 'cart'],
      [new Set([1]), 'cart'],
      [new Cart(), 'cart'],
      [{ items: [1, new Cart()] }, 'cart.items[1]'],
      [cyclic, 'cart.self'],
      [[1, undefined], 'cart[1]'],
      // eslint-disable-next-line no-sparse-arrays
      [[1, , 3], 'cart[1]'],
      [Buffer.from('x'), 'cart'],
      [new Money(5), 'cart'],
      [{ when: Object.create(Date.prototype) as Date }, 'cart.when'],
      [Object.assign(new Date(0), { zone: 'UTC' }), 'cart'],
    ]
    for (const [value, path] of cases) assert.equal(refusal(value).path, path, String(path))
    assert.match(refusal(new Cart()).message, /instance of Cart/)
  })

  it('refuses nesting deeper than it can read back, and keeps 256 levels', () => {
    const nested = (levels: number): unknown => {
      let value: unknown = 'leaf'
      for (let level = 0; level < levels; level++) value = level % 2 === 0 ? [value] : { a: value }
      return value
    }
    assert.deepEqual(roundTrip(nested(256)), nested(256))
    for (const levels of [257, 20_000]) {
      const error = refusal(nested(levels))
      assert.match(error.message, /nested more than 256 levels deep/)
    }
  })

  it('accepts a value shared by two places (stored twice) and drops undefined members like JSON', () => {
    const shared = { n: 1 }
    assert.deepEqual(roundTrip({ a: shared, b: shared, c: undefined }), {
      a: { n: 1 },
      b: { n: 1 },
    })
  })
})

describe('jsonSerializer.equals', () => {
  const equals = (value: unknown, json: JsonValue): boolean => jsonSerializer.equals!(value, json)
  // Values built from JSON, with Dates and tag look-alikes mixed in.
  const sessionValue = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 1 }),
      fc.date({ noInvalidDate: true }),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(
        fc.oneof(fc.string(), fc.constant('$date'), fc.constant('$obj')),
        tie('value'),
        {
          maxKeys: 4,
        },
      ),
    ),
  })).value

  it('holds exactly when encoding gives equal data', () => {
    fc.assert(
      fc.property(sessionValue, sessionValue, (a, b) => {
        const encodedA = jsonSerializer.encode(a, 'k')
        const encodedB = jsonSerializer.encode(b, 'k')
        assert.equal(equals(a, encodedA), true)
        assert.equal(equals(a, encodedB), jsonEqual(encodedA, encodedB))
      }),
      { numRuns: 500 },
    )
  })

  it('sees a change made in place, at any depth', () => {
    const cart = { items: [{ sku: 'a', when: new Date(5) }], owner: { $name: 'x' } }
    const stored = jsonSerializer.encode(cart, 'cart')
    assert.equal(equals(cart, stored), true)
    cart.items[0]!.when.setTime(6)
    assert.equal(equals(cart, stored), false)
    cart.items[0]!.when.setTime(5)
    cart.owner.$name = 'y'
    assert.equal(equals(cart, stored), false)
  })

  it('is false for values encode refuses, so the commit reports them', () => {
    const stored = jsonSerializer.encode({ a: [1] }, 'k')
    const cyclic: Record<string, unknown> = { a: [1] }
    ;(cyclic.a as unknown[]).push(cyclic)
    class Box {
      a = [1]
    }
    for (const value of [cyclic, new Box(), { a: [Number.NaN] }, { a: [() => 1] }, undefined]) {
      assert.equal(equals(value, stored), false)
    }
    assert.equal(equals({ a: 1, b: undefined }, { a: 1 }), true)
  })
})

describe('plainJsonSerializer', () => {
  it('refuses Date, which strict JSON cannot hold, and says what it does store', () => {
    const error = refusal(new Date(0), plainJsonSerializer)
    assert.equal(error.path, 'cart')
    assert.match(error.message, /instance of Date \(only plain objects and arrays are stored\)/)
  })

  it('does not treat $-keys specially', () => {
    const value = { $date: 5 }
    assert.equal(JSON.stringify(plainJsonSerializer.encode(value, 'k')), '{"$date":5}')
    assert.deepEqual(plainJsonSerializer.decode({ $date: 5 }), value)
  })
})
