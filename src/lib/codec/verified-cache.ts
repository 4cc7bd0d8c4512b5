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

/**
 * @param maxEntries how many values to keep
 * @param maxValueLength longer values are never cached
 * @returns a cache
 */
export function createVerifiedCache<T>(
  maxEntries: number,
  maxValueLength: number,
): VerifiedCache<T> {
  const entries = new Map<string, T>()
  return {
    get: (value) => entries.get(value),
    set: (value, result) => {
      if (maxEntries <= 0 || value.length > maxValueLength) return
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!)
      entries.set(value, result)
    },
  }
}
