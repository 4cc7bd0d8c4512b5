/**
 * A small bounded cache for values that already passed authentication. A verified cookie value
 * never changes meaning while the keys stay the same, so verifying it again is wasted work.
 *
 * @remarks
 * Oldest entries are evicted first. Long values are not cached, so the cache's memory stays
 * bounded by `maxEntries * maxValueLength`.
 */
export interface VerifiedCache<T> {
  /**
   * @param value the cookie value
   * @returns what was cached for it, if anything
   */
  get(value: string): T | undefined
  /**
   * @param value the cookie value, already verified
   * @param result what decoding it produced
   */
  set(value: string, result: T): void
}

interface Entry<T> {
  readonly value: string
  readonly result: T
}

/**
 * @param maxEntries how many values to keep
 * @param maxValueLength longer values are never cached
 * @param tailLength when given, entries are looked up by the last `tailLength` characters of the
 *   value and then compared whole: for values that end in a MAC or tag, whose tail is as unique as
 *   the value, and which arrive as new strings on every request (a `Map` would hash all of each).
 *   A value sharing the tail of a cached one but not its text is a miss.
 * @returns a cache
 */
export function createVerifiedCache<T>(
  maxEntries: number,
  maxValueLength: number,
  tailLength?: number,
): VerifiedCache<T> {
  const entries = new Map<string, Entry<T>>()
  // The keys in insertion order, as a ring: the slot `next` holds the oldest once it is full.
  // (Evicting with `entries.keys().next()` instead gets slower as a Map fills with the holes
  // that deleting from its front leaves, which its iterator walks over.)
  const capacity = Math.max(0, Math.floor(maxEntries))
  const order = new Array<string | undefined>(capacity).fill(undefined)
  let next = 0
  const keyOf =
    tailLength === undefined
      ? (value: string) => value
      : (value: string) => (value.length > tailLength ? value.slice(-tailLength) : value)
  return {
    get: (value) => {
      const entry = entries.get(keyOf(value))
      return entry !== undefined && entry.value === value ? entry.result : undefined
    },
    set: (value, result) => {
      if (capacity === 0 || value.length > maxValueLength) return
      const key = keyOf(value)
      // A key already present is replaced in place (it stays where it was in the eviction order).
      if (!entries.has(key)) {
        const evicted = order[next]
        if (evicted !== undefined) entries.delete(evicted)
        order[next] = key
        next = next + 1 === capacity ? 0 : next + 1
      }
      entries.set(key, { value, result })
    },
  }
}
