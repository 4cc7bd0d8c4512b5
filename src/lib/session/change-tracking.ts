import type { JsonValue, Serializer } from './serializer.js'

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
 * A map of session values that remembers what was written, removed, or handed out as a mutable
 * object, so that changes made in place (`session.get('cart').items.push(x)`) are found at commit
 * without a `changed()` call.
 *
 * @remarks
 * An object value is snapshotted (encoded) the first time it is handed out; at commit it is
 * encoded again and compared. Values never handed out cost nothing.
 */
export class ChangeTrackingMap {
  readonly #values: Map<string, unknown>
  readonly #serializer: Serializer
  // Allocated on first use: most requests write nothing and hand out no objects.
  #written: Set<string> | undefined
  #snapshots: Map<string, string> | undefined
  #cleared = false

  /**
   * @param values the values loaded with the session (taken over, not copied)
   * @param serializer checks values on write and encodes them for comparison
   */
  constructor(values: Map<string, unknown>, serializer: Serializer) {
    this.#values = values
    this.#serializer = serializer
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
   * Returns a value, remembering its encoded form if it is an object the caller could change.
   *
   * @param key the key to read
   * @returns the value, or undefined
   */
  get(key: string): unknown {
    const value = this.#values.get(key)
    if (isMutable(value)) this.#watch(key, value)
    return value
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
    if (this.#written?.has(key) !== true) {
      // Replacing a loaded value is compared at commit, so writing an equal value changes nothing.
      if (this.#values.has(key)) this.#watch(key, this.#values.get(key))
      else (this.#written ??= new Set()).add(key)
    }
    this.#values.set(key, value)
  }

  /**
   * @param key the key to remove
   * @returns true when the key was present (a missing key changes nothing)
   */
  delete(key: string): boolean {
    if (!this.#values.delete(key)) return false
    ;(this.#written ??= new Set()).add(key)
    this.#snapshots?.delete(key)
    return true
  }

  /** Removes every key; the stored copy will be replaced as a whole. */
  clear(): void {
    if (this.#values.size === 0 && !this.#cleared && this.#written === undefined) return
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
    for (const entry of this.#values) {
      if (isMutable(entry[1])) this.#watch(entry[0], entry[1])
      yield entry
    }
  }

  /**
   * Reads values without watching them; for copies made by the library itself.
   *
   * @returns the underlying map, which the caller must not change
   */
  peek(): ReadonlyMap<string, unknown> {
    return this.#values
  }

  /**
   * Encodes every value, for a whole-record write.
   *
   * @returns the encoded values
   * @throws {@link UnserializableValueError} when a value changed in place can no longer be stored
   */
  encodeAll(): Record<string, JsonValue> {
    const out = Object.create(null) as Record<string, JsonValue>
    for (const [key, value] of this.#values) out[key] = this.#serializer.encode(value, key)
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
      if (JSON.stringify(this.#serializer.encode(this.#values.get(key), key)) !== before)
        return true
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
      if (this.#values.has(key)) {
        ;(set ??= new Map()).set(key, this.#serializer.encode(this.#values.get(key), key))
      } else {
        ;(deleted ??= new Set()).add(key)
      }
    }
    for (const [key, before] of this.#snapshots ?? []) {
      const encoded = this.#serializer.encode(this.#values.get(key), key)
      if (JSON.stringify(encoded) !== before) (set ??= new Map()).set(key, encoded)
    }
    if (!this.#cleared && set === undefined && deleted === undefined) return undefined
    return { cleared: this.#cleared, set: set ?? new Map(), deleted: deleted ?? new Set() }
  }

  #watch(key: string, value: unknown): void {
    if (this.#written?.has(key) === true || this.#snapshots?.has(key) === true) return
    ;(this.#snapshots ??= new Map()).set(key, JSON.stringify(this.#serializer.encode(value, key)))
  }
}
