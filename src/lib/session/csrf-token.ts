import { randomBytes as cryptoRandomBytes, timingSafeEqual } from 'node:crypto'

/** Bytes of randomness in a CSRF token (256 bits). */
export const CSRF_TOKEN_BYTES = 32

const BASE64URL = /^[A-Za-z0-9_-]+$/

/**
 * The bytes a token stands for: decoded when it is canonical base64url (this library's tokens,
 * and Pyramid's hex ones), its UTF-8 text otherwise.
 */
function tokenBytes(token: string): Buffer {
  if (BASE64URL.test(token)) {
    const decoded = Buffer.from(token, 'base64url')
    if (decoded.toString('base64url') === token) return decoded
  }
  return Buffer.from(token, 'utf8')
}

/**
 * Makes a new CSRF token: 32 random bytes, base64url.
 *
 * @param randomBytes the source of randomness
 * @returns the token
 */
export function createCsrfToken(
  randomBytes: (size: number) => Uint8Array = cryptoRandomBytes,
): string {
  return Buffer.from(randomBytes(CSRF_TOKEN_BYTES)).toString('base64url')
}

/**
 * Masks a token with fresh randomness, so that the value embedded in each page differs (a defence
 * against BREACH-style compression attacks). {@link verifyCsrfToken} accepts masked and plain
 * tokens alike.
 *
 * @param token the session's token (this library's, or one carried over from Pyramid)
 * @param randomBytes the source of randomness
 * @returns the masked token (86 characters for this library's tokens)
 */
export function maskCsrfToken(
  token: string,
  randomBytes: (size: number) => Uint8Array = cryptoRandomBytes,
): string {
  const raw = tokenBytes(token)
  const mask = Buffer.from(randomBytes(raw.length))
  const masked = Buffer.alloc(raw.length)
  for (let index = 0; index < raw.length; index++) masked[index] = raw[index]! ^ mask[index]!
  return Buffer.concat([mask, masked]).toString('base64url')
}

/**
 * Checks a token supplied by a request against the session's token, in constant time. Never
 * throws: any odd input (empty, huge, non-Latin-1, wrong shape) is simply refused.
 *
 * @param expected the session's token
 * @param supplied what the request sent (header or form field), plain or masked
 * @returns whether they match
 */
export function verifyCsrfToken(expected: unknown, supplied: unknown): boolean {
  if (typeof expected !== 'string' || expected === '' || typeof supplied !== 'string') return false
  if (supplied.length === expected.length) {
    const a = Buffer.from(expected, 'utf8')
    const b = Buffer.from(supplied, 'utf8')
    return a.length === b.length && timingSafeEqual(a, b)
  }
  // A masked token: base64url of a mask and the token's bytes masked with it.
  if (!BASE64URL.test(supplied)) return false
  const reference = tokenBytes(expected)
  if (supplied.length !== Math.ceil((reference.length * 2 * 4) / 3)) return false
  const both = Buffer.from(supplied, 'base64url')
  // base64url decoding ignores the unused low bits of the last character: insist on the canonical text.
  if (both.length !== reference.length * 2 || both.toString('base64url') !== supplied) return false
  const candidate = Buffer.alloc(reference.length)
  for (let index = 0; index < reference.length; index++) {
    candidate[index] = both[index]! ^ both[index + reference.length]!
  }
  return timingSafeEqual(reference, candidate)
}
