import { setMember, type JsonValue, type Serializer } from './serializer.js'

/**
 * What changed in one namespace of a session during a request: the keys written (with their
 * encoded values) and the keys removed. `cleared` means the namespace was emptied first, so the
 * stored copy must be replaced rather than patched.
 */
export interface NamespaceChanges {
  /** The namespace was emptied (by `clear()`, `invalidate()`) before the writes below. */
  readonly cleared: boolean
  /** Keys written in this request, including objects changed in place, with their encoded values. */
  readonly set: ReadonlyMap<string, JsonValue>
  /** Keys removed in this request. */
  readonly deleted: ReadonlySet<string>
}

function isMutable(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

/**
 * Freezes a value's plain objects and arrays, all the way down, including below an object the
 * app froze itself. Other objects (a Date, a class instance a change in place slipped in) are
 * left alone: they are not the session's to freeze. It walks with a list, not by recursion, so
 * a value made too deep in place still reaches the serializer's typed error, not a stack overflow.
 *
 * @param value the value
 * @param seen the objects already walked (a cycle stops there)
 */
function deepFreeze(value: unknown, seen: Set<object>): void {
  // The list is made only for a value with objects inside: most session values are flat.
  let pending: object[] | undefined
  let item: unknown = value
  for (;;) {
    if (isMutable(item) && !seen.has(item)) {
      seen.add(item)
      const prototype: unknown = Object.getPrototypeOf(item)
      if (Array.isArray(item)) {
        if (prototype === Array.prototype) {
          Object.freeze(item)
          for (const member of item) if (isMutable(member)) (pending ??= []).push(member)
        }
      } else if (prototype === Object.prototype || prototype === null) {
        Object.freeze(item)
        // No inherited enumerable members on a plain object: for-in walks its own, without a copy.
        for (const key in item) {
          const member = (item as Record<string, unknown>)[key]
          if (isMutable(member)) (pending ??= []).push(member)
        }
      }
    }
    if (pending === undefined || pending.length === 0) return
    item = pending.pop()
  }
}

/** Stands for a value not decoded yet: it is still `stored[key]`. */
const ENCODED = Symbol('encoded')
/** Marks a snapshot that is the stored form itself. */
const STORED = Symbol('stored')

/**
 * @param a encoded data
 * @param b encoded data
 * @returns whether both hold the same JSON
 */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let index = 0; index < a.length; index++) if (!jsonEqual(a[index], b[index])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) {
    if (!Object.hasOwn(b, key) || !jsonEqual(a[key], b[key])) return false
  }
  return true
}

/**
 * A map of session values that remembers what was written, removed, or handed out as a mutable
 * object, so that changes made in place (`session.get('cart').items.push(x)`) are found at commit
 * without a `changed()` call.
 *
 * @remarks
 * Values loaded in their stored (encoded) form are decoded only when first read, and a value never
 * read is written back as it was stored, without decoding or encoding it. An object handed out is
 * compared at commit with its stored form (or, for values set in this request, with a snapshot
 * encoded when it was first handed out). Values never handed out cost nothing.
 */
export class ChangeTrackingMap {
  readonly #values: Map<string, unknown>
  readonly #serializer: Serializer
  readonly #stored: Readonly<Record<string, JsonValue>> | undefined
  // Allocated on first use: most requests write nothing and hand out no objects.
  /** Keys added in this request (absent when loaded, or since `clear()`), still present. */
  #written: Set<string> | undefined
  /**
   * The loaded form of every loaded key this request handed out, replaced or removed: compared
   * with what the key holds at commit (a key no longer there was removed).
   */
  #snapshots: Map<string, JsonValue | typeof STORED> | undefined
  #cleared = false
  #frozen = false
  /** Whether the map was loaded with any key: then clear() replaces the stored copy. */
  readonly #loadedAny: boolean

  /**
   * @param values decoded values, taken over (not copied)
   * @param serializer checks values on write, decodes stored values, encodes for comparison
   * @param stored values in their stored form, decoded on first read; never changed by this map
   */
  constructor(
    values: Map<string, unknown>,
    serializer: Serializer,
    stored?: Readonly<Record<string, JsonValue>>,
  ) {
    this.#values = values
    this.#serializer = serializer
    this.#stored = stored
    if (stored !== undefined) for (const key of Object.keys(stored)) values.set(key, ENCODED)
    this.#loadedAny = values.size > 0
  }

  /** @returns the number of keys */
  get size(): number {
    return this.#values.size
  }

  /**
   * @param key the key to look up
   * @returns whether the key is present
   */
  has(key: string): boolean {
    return this.#values.has(key)
  }

  /**
   * Reads a value without watching it: for the library's own reads, never handed to users.
   *
   * @param key the key to read
   * @returns the value, or undefined
   */
  read(key: string): unknown {
    const value = this.#values.get(key)
    if (value !== ENCODED) return value
    const decoded = this.#serializer.decode(this.#stored![key]!)
    this.#values.set(key, decoded)
    return decoded
  }

  /**
   * Returns a value, remembering it if it is an object the caller could change.
   *
   * @param key the key to read
   * @returns the value, or undefined
   */
  get(key: string): unknown {
    const value = this.read(key)
    if (!isMutable(value)) return value
    if (this.#frozen) deepFreeze(value, new Set())
    else this.#watch(key, value)
    return value
  }

  /**
   * Makes the values read-only, once the response has started and nothing more can be saved:
   * every object handed out or written so far, and any handed out later, is frozen, so a change
   * in place (in strict-mode code, which modules are) throws instead of being silently lost.
   * Dates cannot be frozen.
   */
  freeze(): void {
    if (this.#frozen) return
    this.#frozen = true
    if (this.#snapshots === undefined && this.#written === undefined) return
    const seen = new Set<object>()
    for (const key of this.#snapshots?.keys() ?? []) deepFreeze(this.#values.get(key), seen)
    for (const key of this.#written ?? []) deepFreeze(this.#values.get(key), seen)
  }

  /**
   * Stores a value after checking that the serializer can keep it. Storing a value equal to the
   * one loaded is not a change.
   *
   * @param key the key to write
   * @param value the value to store
   * @throws {@link UnserializableValueError} when the value cannot be stored
   */
  set(key: string, value: unknown): void {
    this.#serializer.encode(value, key)
    if (this.#written?.has(key) !== true && this.#snapshots?.has(key) !== true) {
      // Replacing a loaded value is compared at commit, so writing an equal value changes nothing.
      if (this.#values.has(key)) this.#watch(key, this.#values.get(key))
      else (this.#written ??= new Set()).add(key)
    }
    this.#values.set(key, value)
  }

  /**
   * Removes a key. A key added in this request is simply forgotten; a loaded key keeps its
   * snapshot, so the commit sees it removed, or unchanged when an equal value is set again.
   *
   * @param key the key to remove
   * @returns true when the key was present (a missing key changes nothing)
   */
  delete(key: string): boolean {
    if (!this.#values.has(key)) return false
    if (this.#written?.has(key) === true) this.#written.delete(key)
    else this.#watch(key, this.#values.get(key))
    this.#values.delete(key)
    return true
  }

  /**
   * Removes every key; the stored copy will be replaced as a whole. With nothing loaded and
   * nothing left (keys this request added and removed again), there is nothing to clear.
   */
  clear(): void {
    if (this.#values.size === 0 && !this.#cleared && !this.#loadedAny) return
    this.#values.clear()
    this.#written = undefined
    this.#snapshots = undefined
    this.#cleared = true
  }

  /** @returns the keys, in insertion order */
  keys(): IterableIterator<string> {
    return this.#values.keys()
  }

  /**
   * Iterates over the entries, watching every object handed out.
   *
   * @returns an iterator of `[key, value]` pairs
   */
  *entries(): IterableIterator<[string, unknown]> {
    // Live, as a Map's: keys added meanwhile are visited, keys removed are not. (Decoding a
    // value on first read replaces it in place, which moves nothing.)
    for (const key of this.#values.keys()) yield [key, this.get(key)]
  }

  /**
   * Iterates over the entries without watching them; for copies made by the library itself.
   *
   * @returns an iterator of `[key, value]` pairs, which the caller must not change
   */
  *readAll(): IterableIterator<[string, unknown]> {
    for (const key of [...this.#values.keys()]) yield [key, this.read(key)]
  }

  /**
   * Encodes every value, for a whole-record write. Values never read are written as stored.
   *
   * @returns the encoded values
   * @throws {@link UnserializableValueError} when a value changed in place can no longer be stored
   */
  encodeAll(): Record<string, JsonValue> {
    const out: Record<string, JsonValue> = {}
    for (const [key, value] of this.#values) {
      setMember(
        out,
        key,
        value === ENCODED ? this.#stored![key]! : this.#serializer.encode(value, key),
      )
    }
    return out
  }

  /**
   * @returns whether anything was written, removed, or changed in place, without encoding what
   *   was not handed out
   * @throws {@link UnserializableValueError} when a value changed in place can no longer be stored
   */
  isDirty(): boolean {
    if (this.#cleared || (this.#written !== undefined && this.#written.size > 0)) return true
    if (this.#snapshots === undefined) return false
    for (const [key, before] of this.#snapshots) {
      if (!this.#values.has(key)) return true
      const value = this.#values.get(key)
      if (this.#matchesStored(key, before, value)) continue
      if (this.#differs(key, before, this.#serializer.encode(value, key))) return true
    }
    return false
  }

  /**
   * Works out what changed since the session was loaded.
   *
   * @returns the changes, or undefined when nothing changed
   * @throws {@link UnserializableValueError} when a value changed in place can no longer be stored
   */
  changes(): NamespaceChanges | undefined {
    let set: Map<string, JsonValue> | undefined
    let deleted: Set<string> | undefined
    for (const key of this.#written ?? []) {
      ;(set ??= new Map()).set(key, this.#serializer.encode(this.#values.get(key), key))
    }
    for (const [key, before] of this.#snapshots ?? []) {
      if (!this.#values.has(key)) {
        ;(deleted ??= new Set()).add(key)
        continue
      }
      const value = this.#values.get(key)
      if (this.#matchesStored(key, before, value)) continue
      const encoded = this.#serializer.encode(value, key)
      if (this.#differs(key, before, encoded)) (set ??= new Map()).set(key, encoded)
    }
    if (!this.#cleared && set === undefined && deleted === undefined) return undefined
    return { cleared: this.#cleared, set: set ?? new Map(), deleted: deleted ?? new Set() }
  }

  #watch(key: string, value: unknown): void {
    if (this.#written?.has(key) === true || this.#snapshots?.has(key) === true) return
    // Until a clear(), a key first watched still holds its loaded value: when the stored form is
    // known it is the snapshot, and nothing needs encoding now.
    // Otherwise a copy of its encoded form: a serializer's encode may hand back parts of the
    // value itself, which the application may then change.
    const snapshot =
      this.#stored !== undefined && !this.#cleared && Object.hasOwn(this.#stored, key)
        ? STORED
        : (JSON.parse(
            JSON.stringify(
              this.#serializer.encode(value === ENCODED ? this.read(key) : value, key),
            ),
          ) as JsonValue)
    ;(this.#snapshots ??= new Map()).set(key, snapshot)
  }

  /**
   * The cheap check, without encoding: whether a value handed out still equals its stored form
   * (or snapshot), by the serializer's optional `equals`. False means "encode and compare".
   */
  #matchesStored(key: string, before: JsonValue | typeof STORED, value: unknown): boolean {
    return (
      this.#serializer.equals?.(value, before === STORED ? this.#stored![key]! : before) === true
    )
  }

  /** Compares as JSON: members in another order are no change. */
  #differs(key: string, before: JsonValue | typeof STORED, now: JsonValue): boolean {
    return !jsonEqual(now, before === STORED ? this.#stored![key] : before)
  }
}
