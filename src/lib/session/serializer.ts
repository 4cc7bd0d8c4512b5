import { UnserializableValueError } from '../errors.js'

/** A value that `JSON.stringify` and `JSON.parse` round-trip exactly. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/**
 * Turns session values into JSON-compatible data and back. The session checks every value with
 * `encode` when it is set, so a value that cannot be kept is refused at the call site.
 *
 * @remarks
 * Write your own to store more types (for example `Map` or `bigint`). `decode` receives data that
 * passed the cookie's signature check or came from your store, but it must still never execute
 * code or assign through `__proto__`.
 */
export interface Serializer {
  /**
   * Converts a value into JSON-compatible data.
   *
   * @param value the value to store
   * @param key the session key holding it, for error messages
   * @returns JSON-compatible data that `decode` turns back into an equal value
   * @throws {@link UnserializableValueError} when the value cannot be stored faithfully
   */
  encode(value: unknown, key: string): JsonValue
  /**
   * Converts data made by `encode` back into the value. It must not change `json` (factories
   * share parsed data between requests) and must return fresh objects.
   *
   * @param json the parsed JSON
   * @returns the stored value
   */
  decode(json: JsonValue): unknown
}

const DATE_TAG = '$date'
const ESCAPE_TAG = '$obj'

function describe(value: unknown): string {
  if (value === undefined) return 'undefined (use session.delete() to remove a key)'
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'symbol') return 'a symbol'
  if (typeof value === 'bigint') return 'a bigint'
  if (typeof value === 'number') return `the number ${String(value)} (JSON cannot hold it)`
  const constructorName = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof constructorName === 'string' && constructorName !== ''
    ? `an instance of ${constructorName} (only plain objects, arrays and Date are stored)`
    : 'an object with a custom prototype'
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

function createJsonSerializer(withDates: boolean): Serializer {
  const encodeAt = (
    value: unknown,
    key: string,
    path: string,
    ancestors: Set<object>,
  ): JsonValue => {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value
      case 'number':
        if (Number.isFinite(value)) return value
        throw new UnserializableValueError(key, path, describe(value))
      case 'object': {
        if (value === null) return null
        if (value instanceof Date && withDates) {
          const time = value.getTime()
          if (Number.isNaN(time)) throw new UnserializableValueError(key, path, 'an invalid Date')
          return { [DATE_TAG]: time }
        }
        if (ancestors.has(value)) {
          throw new UnserializableValueError(key, path, 'a reference back to itself (a cycle)')
        }
        if (Array.isArray(value)) {
          if (Object.getPrototypeOf(value) !== Array.prototype) {
            throw new UnserializableValueError(key, path, describe(value))
          }
          ancestors.add(value)
          const out: JsonValue[] = new Array<JsonValue>(value.length)
          for (let index = 0; index < value.length; index++) {
            if (!(index in value)) {
              throw new UnserializableValueError(
                key,
                `${path}[${index}]`,
                'a hole in a sparse array',
              )
            }
            out[index] = encodeAt(value[index], key, `${path}[${index}]`, ancestors)
          }
          ancestors.delete(value)
          return out
        }
        if (!isPlainObject(value)) throw new UnserializableValueError(key, path, describe(value))
        ancestors.add(value)
        const out: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>
        let count = 0
        let lastName = ''
        for (const name of Object.keys(value)) {
          const member = (value as Record<string, unknown>)[name]
          // Like JSON, an object member holding `undefined` is left out.
          if (member === undefined) continue
          out[name] = encodeAt(member, key, `${path}.${name}`, ancestors)
          count++
          lastName = name
        }
        ancestors.delete(value)
        // An object whose only member is named like a tag is escaped, so it never decodes as one.
        if (withDates && count === 1 && lastName.startsWith('$')) return { [ESCAPE_TAG]: out }
        return out
      }
      case 'undefined':
      case 'bigint':
      case 'symbol':
      case 'function':
        throw new UnserializableValueError(key, path, describe(value))
    }
  }

  // Decoding builds new containers and never changes its input, so parsed data can be shared.
  const decodeMembers = (json: Record<string, JsonValue>): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    for (const name of Object.keys(json)) {
      const value = decodeAt(json[name]!)
      // A member named "__proto__" is data: define it, never assign through the setter.
      if (name === '__proto__') {
        Object.defineProperty(out, name, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        })
      } else {
        out[name] = value
      }
    }
    return out
  }

  const decodeAt = (json: JsonValue): unknown => {
    if (typeof json !== 'object' || json === null) return json
    if (Array.isArray(json)) return json.map(decodeAt)
    if (withDates) {
      const names = Object.keys(json)
      if (names.length === 1) {
        const tagged = json[names[0]!]!
        if (names[0] === DATE_TAG && typeof tagged === 'number') return new Date(tagged)
        if (
          names[0] === ESCAPE_TAG &&
          typeof tagged === 'object' &&
          tagged !== null &&
          !Array.isArray(tagged)
        ) {
          return decodeMembers(tagged)
        }
      }
    }
    return decodeMembers(json)
  }

  return {
    encode: (value, key) => {
      if (value === undefined) throw new UnserializableValueError(key, key, describe(value))
      return encodeAt(value, key, key, new Set())
    },
    decode: (json) => decodeAt(json),
  }
}

/**
 * The default serializer: JSON values plus `Date`, which plain JSON would silently turn into a
 * string.
 *
 * @remarks
 * Refused with {@link UnserializableValueError}: functions, symbols, `bigint`, `undefined` as a
 * session value or array element, `NaN` and `±Infinity`, invalid dates, sparse arrays, cycles, and
 * instances of any class but `Object`, `Array` and `Date` (so `Map`, `Set`, `RegExp`, `Buffer` and
 * your own classes). Object members holding `undefined` are left out, as in JSON. A value shared
 * by two places is stored twice (identity is not kept). Dates are stored as `{"$date": ms}`; a
 * plain object whose only key starts with `$` is escaped, so it never turns into a Date.
 */
export const jsonSerializer: Serializer = createJsonSerializer(true)

/**
 * Strict JSON without tags: what another JSON-speaking system (such as Pyramid) reads and writes.
 * Refuses `Date` as well as everything {@link jsonSerializer} refuses.
 */
export const plainJsonSerializer: Serializer = createJsonSerializer(false)
