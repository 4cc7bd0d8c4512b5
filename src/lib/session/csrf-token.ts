import { randomBytes as cryptoRandomBytes, timingSafeEqual } from 'node:crypto'

/** Bytes of randomness in a CSRF token (256 bits). */
export const CSRF_TOKEN_BYTES = 32

const TOKEN_LENGTH = 43 // base64url of 32 bytes
const MASKED_LENGTH = 86 // base64url of a 32-byte mask followed by the 32 masked bytes
const BASE64URL = /^[A-Za-z0-9_-]+$/

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
 * @param token the session's token
 * @param randomBytes the source of randomness
 * @returns the masked token (86 characters)
 */
export function maskCsrfToken(
  token: string,
  randomBytes: (size: number) => Uint8Array = cryptoRandomBytes,
): string {
  const raw = Buffer.from(token, 'base64url')
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
  // A masked token: only for tokens this library made (32 bytes, base64url).
  if (expected.length !== TOKEN_LENGTH || supplied.length !== MASKED_LENGTH) return false
  if (!BASE64URL.test(supplied) || !BASE64URL.test(expected)) return false
  const both = Buffer.from(supplied, 'base64url')
  // base64url decoding ignores the unused low bits of the last character: insist on the canonical text.
  if (both.toString('base64url') !== supplied) return false
  const candidate = Buffer.alloc(CSRF_TOKEN_BYTES)
  for (let index = 0; index < CSRF_TOKEN_BYTES; index++) {
    candidate[index] = both[index]! ^ both[index + CSRF_TOKEN_BYTES]!
  }
  const reference = Buffer.from(expected, 'base64url')
  return reference.length === candidate.length && timingSafeEqual(reference, candidate)
}
