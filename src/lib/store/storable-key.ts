/**
 * Session keys in stores that cannot hold every JavaScript string. A Redis hash field is stored
 * as UTF-8, which has no unpaired surrogates (they come back as U+FFFD); a PostgreSQL `jsonb` key
 * or `text` value cannot hold U+0000 at all. A key with either is kept as U+0001 followed by its
 * JSON string literal (plain text, since JSON escapes both); a key that itself starts with U+0001
 * is kept that way too, so the mapping stays one-to-one. Every other key, which is every key an
 * application is likely to use, is stored unchanged.
 */

const MARK = '\u0001'

/** U+0000, an unpaired surrogate (with the `u` flag a pair is one code point), or a leading MARK. */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what this looks for
const NEEDS_ESCAPE = /^\u0001|[\u0000\p{Cs}]/u

/**
 * @param key a session key
 * @returns the key as such stores keep it
 */
export function toStorableKey(key: string): string {
  return NEEDS_ESCAPE.test(key) ? MARK + JSON.stringify(key) : key
}

/**
 * @param stored a key as read from the store
 * @returns the session key it was made from (a key that does not decode is returned unchanged)
 */
export function fromStorableKey(stored: string): string {
  if (!stored.startsWith(MARK)) return stored
  try {
    const key: unknown = JSON.parse(stored.slice(MARK.length))
    return typeof key === 'string' ? key : stored
  } catch {
    return stored
  }
}
