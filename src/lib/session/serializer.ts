import { types } from 'node:util'
import { CloakroomError, UnserializableValueError } from '../errors.js'

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
  /**
   * Optional shortcut: whether `encode(value)` would return data equal to `json`. The session
   * compares every object it handed out with its stored form at commit, to find changes made in
   * place; with `equals` it does so without encoding. Return false whenever unsure: the session
   * then encodes and compares.
   *
   * @param value a value as the application holds it
   * @param json stored data made by `encode`
   * @returns true only when encoding `value` gives data equal to `json`
   */
  equals?(value: unknown, json: JsonValue): boolean
}

/**
 * The deepest nesting of objects and arrays the built-in serializers store: far beyond any
 * session's data, and far within the stack that decoding, comparing and freezing a value need.
 */
const MAX_DEPTH = 256

const DATE_TAG = '$date'
const ESCAPE_TAG = '$obj'

function describe(value: unknown, withDates: boolean): string {
  if (value === undefined) return 'undefined (use session.delete() to remove a key)'
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'symbol') return 'a symbol'
  if (typeof value === 'bigint') return 'a bigint'
  if (typeof value === 'number') return `the number ${String(value)} (JSON cannot hold it)`
  const constructorName = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof constructorName === 'string' && constructorName !== ''
    ? `an instance of ${constructorName} (only ${withDates ? 'plain objects, arrays and Date' : 'plain objects and arrays'} are stored)`
    : 'an object with a custom prototype'
}

/**
 * A Date the encoder can keep whole: a real Date (not an object that only inherits from
 * `Date.prototype`, whose methods throw), of no subclass, with no properties of its own.
 */
function isPlainDate(value: Date): boolean {
  return (
    types.isDate(value) &&
    Object.getPrototypeOf(value) === Date.prototype &&
    Object.keys(value).length === 0
  )
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

/** Returned by the first, path-less walk of the encoder for a value it cannot keep. */
const REFUSED: unique symbol = Symbol('refused')

/**
 * Sets `out[name]`, defining a member named `__proto__` as data instead of assigning through the
 * setter (objects keep their ordinary prototype, so they stay fast for `JSON.stringify`).
 * Library-internal.
 *
 * @param out the object to set a member of
 * @param name the member's name
 * @param value its value
 */
export function setMember(out: Record<string, unknown>, name: string, value: unknown): void {
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

/** A value the encoder cannot keep: REFUSED on the path-less walk, the error on the other. */
function refuse(key: string, path: string | undefined, reason: string): typeof REFUSED {
  if (path === undefined) return REFUSED
  throw new UnserializableValueError(key, path, reason)
}

function createJsonSerializer(withDates: boolean): Serializer {
  /** Whether an object with these members is stored inside an escape (`{"$obj": ...}`). */
  const escaped = (count: number, lastName: string): boolean =>
    withDates && count === 1 && lastName.startsWith('$')

  /**
   * Encodes a value. The first walk keeps no paths (`path` undefined) and returns REFUSED at the
   * first value it cannot keep; the caller then walks again with paths, which throws the error
   * naming where the value went wrong.
   */
  const encodeAt = (
    value: unknown,
    ancestors: object[],
    key: string,
    path: string | undefined,
  ): JsonValue | typeof REFUSED => {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value
      case 'number':
        return Number.isFinite(value) ? value : refuse(key, path, describe(value, withDates))
      case 'object': {
        if (value === null) return null
        if (value instanceof Date && withDates) {
          if (!isPlainDate(value)) {
            return refuse(
              key,
              path,
              'a Date subclass, a Date with properties of its own, or an object that only ' +
                'inherits from Date (only plain Dates are stored)',
            )
          }
          const time = value.getTime()
          return Number.isNaN(time) ? refuse(key, path, 'an invalid Date') : { [DATE_TAG]: time }
        }
        // Deeper data could be stored but not read back: decoding needs more stack than this.
        if (ancestors.length >= MAX_DEPTH) {
          return refuse(key, path, `nested more than ${MAX_DEPTH} levels deep`)
        }
        // A stack of the objects above this one: shallow values make a short scan.
        if (ancestors.includes(value))
          return refuse(key, path, 'a reference back to itself (a cycle)')
        if (Array.isArray(value)) {
          if (Object.getPrototypeOf(value) !== Array.prototype) {
            return refuse(key, path, describe(value, withDates))
          }
          ancestors.push(value)
          const out: JsonValue[] = new Array<JsonValue>(value.length)
          for (let index = 0; index < value.length; index++) {
            const at = path === undefined ? undefined : `${path}[${index}]`
            if (!(index in value)) return refuse(key, at, 'a hole in a sparse array')
            const encoded = encodeAt(value[index], ancestors, key, at)
            if (encoded === REFUSED) return REFUSED
            out[index] = encoded
          }
          ancestors.pop()
          return out
        }
        if (!isPlainObject(value)) return refuse(key, path, describe(value, withDates))
        ancestors.push(value)
        const out: Record<string, JsonValue> = {}
        let count = 0
        let lastName = ''
        for (const name of Object.keys(value)) {
          const member = (value as Record<string, unknown>)[name]
          // Like JSON, an object member holding `undefined` is left out.
          if (member === undefined) continue
          const at = path === undefined ? undefined : `${path}.${name}`
          const encoded = encodeAt(member, ancestors, key, at)
          if (encoded === REFUSED) return REFUSED
          setMember(out, name, encoded)
          count++
          lastName = name
        }
        ancestors.pop()
        // An object whose only member is named like a tag is escaped, so it never decodes as one.
        return escaped(count, lastName) ? { [ESCAPE_TAG]: out } : out
      }
      case 'undefined':
      case 'bigint':
      case 'symbol':
      case 'function':
        return refuse(key, path, describe(value, withDates))
    }
  }

  /** Whether `encode(value)` would give data equal to `json`, without building it. */
  const matches = (value: unknown, json: JsonValue | undefined): boolean => {
    switch (typeof value) {
      case 'string':
      case 'boolean':
      case 'number':
        // NaN and ±Infinity never equal stored JSON, so they fall through to encode (and its error).
        return value === json
      case 'object': {
        if (value === null) return json === null
        if (typeof json !== 'object' || json === null) return false
        if (Array.isArray(value)) {
          if (!Array.isArray(json) || value.length !== json.length) return false
          if (Object.getPrototypeOf(value) !== Array.prototype) return false
          for (let index = 0; index < value.length; index++) {
            if (!(index in value) || !matches(value[index], json[index])) return false
          }
          return true
        }
        if (Array.isArray(json)) return false
        if (value instanceof Date) {
          if (!withDates || !isPlainDate(value)) return false
          const names = Object.keys(json)
          return names.length === 1 && names[0] === DATE_TAG && json[DATE_TAG] === value.getTime()
        }
        if (!isPlainObject(value)) return false
        let count = 0
        let lastName = ''
        for (const name of Object.keys(value)) {
          if ((value as Record<string, unknown>)[name] === undefined) continue
          count++
          lastName = name
        }
        let members: JsonValue = json
        if (escaped(count, lastName)) {
          const names = Object.keys(json)
          if (names.length !== 1 || names[0] !== ESCAPE_TAG) return false
          members = json[ESCAPE_TAG]!
          if (typeof members !== 'object' || members === null || Array.isArray(members))
            return false
        }
        if (Object.keys(members).length !== count) return false
        for (const name of Object.keys(value)) {
          const member = (value as Record<string, unknown>)[name]
          if (member === undefined) continue
          if (!Object.hasOwn(members, name) || !matches(member, members[name])) return false
        }
        return true
      }
      case 'undefined':
      case 'bigint':
      case 'symbol':
      case 'function':
        return false
    }
  }

  // Decoding builds new containers and never changes its input, so parsed data can be shared.
  const decodeMembers = (json: Record<string, JsonValue>): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    for (const name of Object.keys(json)) {
      // A member named "__proto__" is data: define it, never assign through the setter.
      setMember(out, name, decodeAt(json[name]!))
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
      // Primitives need no walk (and no allocation).
      if (typeof value === 'string' || typeof value === 'boolean') return value
      if (typeof value === 'number' && Number.isFinite(value)) return value
      if (value === undefined)
        throw new UnserializableValueError(key, key, describe(value, withDates))
      const encoded = encodeAt(value, [], key, undefined)
      if (encoded !== REFUSED) return encoded
      // Walk again with paths: this throws the error that names where the value went wrong.
      encodeAt(value, [], key, key)
      throw new UnserializableValueError(key, key, describe(value, withDates))
    },
    decode: (json) => decodeAt(json),
    equals: (value, json) => matches(value, json),
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

/**
 * Library-internal: whether a serializer's stored values may stay encoded until read. The
 * built-in serializers decode any JSON; a custom one may fail, so its values are decoded when
 * the session loads, where a failure gives a fresh session instead of an error mid-request.
 *
 * @param serializer the factory's serializer
 * @returns true for {@link jsonSerializer} and {@link plainJsonSerializer}
 */
export function decodesLazily(serializer: Serializer): boolean {
  return serializer === jsonSerializer || serializer === plainJsonSerializer
}

/**
 * Library-internal: decodes every value of a stored namespace.
 *
 * @param serializer the factory's serializer
 * @param values the stored values
 * @returns the decoded entries
 */
export function decodeAll(
  serializer: Serializer,
  values: Readonly<Record<string, JsonValue>>,
): [string, unknown][] {
  return Object.keys(values).map((key) => [key, serializer.decode(values[key]!)])
}

/**
 * Library-internal: the serializer with every failure of `encode` made an
 * {@link UnserializableValueError} that names the key, whatever the serializer threw (a custom
 * serializer's own error, a stack overflow on deeply nested data): a commit never reports it as
 * anything else, such as a store outage.
 *
 * @param serializer the factory's serializer
 * @returns a serializer that encodes and decodes as it does
 */
export function guardSerializer(serializer: Serializer): Serializer {
  const encode = (value: unknown, key: string): JsonValue => {
    try {
      return serializer.encode(value, key)
    } catch (error) {
      if (error instanceof CloakroomError) throw error
      const reason = error instanceof Error ? error.message : String(error)
      throw new UnserializableValueError(key, key, `a value the serializer failed on (${reason})`, {
        cause: error,
      })
    }
  }
  return {
    encode,
    decode: (json) => serializer.decode(json),
    ...(serializer.equals === undefined
      ? {}
      : { equals: (value, json) => serializer.equals!(value, json) }),
  }
}
