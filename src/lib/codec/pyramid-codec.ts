import { createHmac, timingSafeEqual } from 'node:crypto'
import { ConfigError, UnserializableValueError } from '../errors.js'
import type { JsonValue } from '../session/serializer.js'
import { CSRF_TOKEN_FIELD, FLASH_FIELD_PREFIX } from '../session/session.js'
import type { CookieCodec, CookieDecodeResult, CookiePayload } from './cookie-codec.js'
import { MIN_SECRET_BYTES } from './keyring.js'
import { createVerifiedCache } from './verified-cache.js'

/**
 * The HMAC digests Pyramid's `hashalg` may name, by their Python `hashlib` names (lower case;
 * `-` is read as `_`). MD5 is refused.
 */
export type PyramidHashAlgorithm =
  | 'sha1'
  | 'sha224'
  | 'sha256'
  | 'sha384'
  | 'sha512'
  | 'sha512_224'
  | 'sha512_256'
  | 'sha3_224'
  | 'sha3_256'
  | 'sha3_384'
  | 'sha3_512'
  | 'blake2b'
  | 'blake2s'

/** Options of {@link createPyramidCodec}. */
export interface PyramidCodecOptions {
  /**
   * The `secret` given to Pyramid's `SignedCookieSessionFactory`, at least 32 bytes once
   * encoded. A string is encoded as Pyramid encodes it: latin-1, or UTF-8 when it (or the salt)
   * holds a character above U+00FF.
   */
  readonly secret: string | Uint8Array
  /**
   * Pyramid's `salt`, prepended to the secret.
   * @defaultValue `'pyramid.session.'`
   */
  readonly salt?: string | Uint8Array
  /**
   * Pyramid's `hashalg`.
   * @defaultValue `'sha512'`
   */
  readonly hashalg?: PyramidHashAlgorithm | (string & {})
  /**
   * How many verified values to remember, so repeated requests skip the HMAC.
   * @defaultValue 1000
   */
  readonly cacheEntries?: number
}

/** Pyramid's default salt. */
export const PYRAMID_DEFAULT_SALT = 'pyramid.session.'
/** The Pyramid state key of the session's CSRF token. */
export const PYRAMID_CSRF_KEY = '_csrft_'
/** The prefix of the Pyramid state keys of flash queues: `_f_<queue>`. */
export const PYRAMID_FLASH_PREFIX = '_f_'
/** The prefix under which other Cloakroom library fields travel in a Pyramid cookie. */
export const PYRAMID_SYSTEM_PREFIX = '_cloakroom_'

const HASHES: Readonly<Record<PyramidHashAlgorithm, string>> = {
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha512_224: 'sha512-224',
  sha512_256: 'sha512-256',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
}

/**
 * Longer values are refused unread: the largest `maxCookieBytes` allows. Pyramid itself never
 * writes more than 4064 characters.
 */
const MAX_VALUE_LENGTH = 64 * 1024
/** A JSON string, or a JSON number (the tokens that can hold digits). */
const JSON_STRING_OR_NUMBER = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g

/**
 * Whether JSON text holds an integer literal that would not come back as written once read and
 * written again by JavaScript (Python writes ints of any size; a JavaScript number above 2^53
 * holds only some of them). Floats (with a fraction or an exponent) are left alone.
 *
 * @param json JSON text
 * @returns true when such an integer is found
 */
function hasUnsafeInteger(json: string): boolean {
  for (const [token] of json.matchAll(JSON_STRING_OR_NUMBER)) {
    if (token.length < 16 || token.startsWith('"') || /[.eE]/.test(token)) continue
    if (String(Number(token)) !== token) return true
  }
  return false
}

/** Either base64 alphabet, optionally padded: everything Pyramid's decoder is given in practice. */
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/
const UTF8 = new TextDecoder('utf-8', { fatal: true })
const KEYGEN_HINT =
  'Pyramid accepts shorter secrets, Cloakroom does not: generate a new one (`npx cloakroom keygen`) ' +
  'and give it to both apps (live sessions end once).'

const invalid = (reason: 'malformed' | 'bad-signature'): CookieDecodeResult => ({
  ok: false,
  reason,
})

function isPlainRecord(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Defines an own property, so a key named `__proto__` stays data. */
function put(record: Record<string, JsonValue>, key: string, value: JsonValue): void {
  Object.defineProperty(record, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  })
}

/**
 * Encodes the salt and secret as Pyramid (webob) does: text as latin-1, unless either holds a
 * character above U+00FF, in which case both are UTF-8; bytes as given.
 */
function keyParts(salt: string | Uint8Array, secret: string | Uint8Array): [Buffer, Buffer] {
  const wide = (text: string | Uint8Array): boolean =>
    typeof text === 'string' && [...text].some((char) => char.codePointAt(0)! > 0xff)
  const encoding = wide(salt) || wide(secret) ? 'utf8' : 'latin1'
  const bytes = (text: string | Uint8Array): Buffer =>
    typeof text === 'string' ? Buffer.from(text, encoding) : Buffer.from(text)
  return [bytes(salt), bytes(secret)]
}

function resolveHash(hashalg: unknown): string {
  const name = typeof hashalg === 'string' ? hashalg.toLowerCase().replaceAll('-', '_') : ''
  if (!Object.hasOwn(HASHES, name)) {
    throw new ConfigError(
      'hashalg',
      `expected the hashalg of the Pyramid app: one of ${Object.keys(HASHES).join(', ')} (MD5 is refused).`,
    )
  }
  return HASHES[name as PyramidHashAlgorithm]
}

/** Splits Pyramid's session state into Cloakroom's user data and library fields. */
function fromPyramidState(state: Record<string, JsonValue>): string | undefined {
  const data: Record<string, JsonValue> = {}
  const system: Record<string, JsonValue> = {}
  let hasSystem = false
  for (const key of Object.keys(state)) {
    const value = state[key]!
    let field: string | undefined
    if (key === PYRAMID_CSRF_KEY) field = CSRF_TOKEN_FIELD
    else if (key.startsWith(PYRAMID_FLASH_PREFIX))
      field = FLASH_FIELD_PREFIX + key.slice(PYRAMID_FLASH_PREFIX.length)
    else if (key.startsWith(PYRAMID_SYSTEM_PREFIX)) {
      field = key.slice(PYRAMID_SYSTEM_PREFIX.length)
      // Those two travel under Pyramid's own keys; a second copy would be ambiguous.
      if (field === CSRF_TOKEN_FIELD || field.startsWith(FLASH_FIELD_PREFIX)) return undefined
    }
    if (field === undefined) put(data, key, value)
    else {
      put(system, field, value)
      hasSystem = true
    }
  }
  return JSON.stringify(hasSystem ? { d: data, s: system } : { d: data })
}

/** Why a user key cannot be stored in a Pyramid cookie, or undefined when it can. */
function pyramidReservedKey(key: string): string | undefined {
  return key === PYRAMID_CSRF_KEY ||
    key.startsWith(PYRAMID_FLASH_PREFIX) ||
    key.startsWith(PYRAMID_SYSTEM_PREFIX)
    ? `a name that Pyramid's cookie format reserves (${PYRAMID_CSRF_KEY}, ${PYRAMID_FLASH_PREFIX}<queue>, ` +
        `${PYRAMID_SYSTEM_PREFIX}<field>); rename the key`
    : undefined
}

/** Joins Cloakroom's user data and library fields into one Pyramid session state. */
function toPyramidState(body: string): Record<string, JsonValue> {
  const { d: data, s: system } = JSON.parse(body) as {
    d: Record<string, JsonValue>
    s?: Record<string, JsonValue>
  }
  const state: Record<string, JsonValue> = {}
  for (const key of Object.keys(data)) {
    // The session refuses these at set(); this is the last line, for a factory that does not ask.
    const reserved = pyramidReservedKey(key)
    if (reserved !== undefined) throw new UnserializableValueError(key, key, reserved)
    put(state, key, data[key]!)
  }
  if (system !== undefined) {
    for (const field of Object.keys(system)) {
      const key =
        field === CSRF_TOKEN_FIELD
          ? PYRAMID_CSRF_KEY
          : field.startsWith(FLASH_FIELD_PREFIX)
            ? PYRAMID_FLASH_PREFIX + field.slice(FLASH_FIELD_PREFIX.length)
            : PYRAMID_SYSTEM_PREFIX + field
      put(state, key, system[field]!)
    }
  }
  return state
}

/**
 * The cookie format of Pyramid 2's `SignedCookieSessionFactory` with its default JSON
 * serializer: `base64url(HMAC(salt ‖ secret, payload) ‖ payload)`, where the payload is the JSON
 * array `[accessed seconds, created seconds, state]`.
 *
 * @remarks
 * The HMAC is checked, in constant time, before the payload is parsed; then the payload must be
 * exactly `[finite number, finite number, object]`. Pyramid's state keys `_csrft_` and
 * `_f_<queue>` become the library fields of the CSRF token and flash queues; other Cloakroom
 * library fields travel as `_cloakroom_<field>`. User keys with those names are refused when
 * the session is written. Pyramid's `accessed` stamp is whole seconds, so it may fall up to one
 * second before `created`; it is then read as `created`.
 *
 * @param options the secret, salt and hash algorithm of the Pyramid app
 * @returns the codec
 * @throws {@link ConfigError} when the secret is shorter than 32 bytes or `hashalg` is unknown
 */
export function createPyramidCodec(options: PyramidCodecOptions): CookieCodec {
  const { secret, salt = PYRAMID_DEFAULT_SALT } = options
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    throw new ConfigError('secret', "expected the Pyramid app's secret, a string or bytes.")
  }
  if (typeof salt !== 'string' && !(salt instanceof Uint8Array)) {
    throw new ConfigError('salt', "expected the Pyramid app's salt, a string or bytes.")
  }
  const hash = resolveHash(options.hashalg ?? 'sha512')
  const [saltBytes, secretBytes] = keyParts(salt, secret)
  if (secretBytes.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      'secret',
      `the secret is ${secretBytes.length} bytes; at least ${MIN_SECRET_BYTES} (256 bits) are required. ${KEYGEN_HINT}`,
    )
  }
  const key = Buffer.concat([saltBytes, secretBytes])
  const digestSize = createHmac(hash, key).digest().length
  const cache = createVerifiedCache<CookieDecodeResult>(options.cacheEntries ?? 1000, 4096)
  const sign = (payload: Buffer): Buffer => createHmac(hash, key).update(payload).digest()

  const verify = (raw: string): CookieDecodeResult => {
    // Pyramid's cookie parser drops surrounding double quotes; so do we.
    const value =
      raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw
    if (
      value.length > MAX_VALUE_LENGTH ||
      !BASE64.test(value) ||
      value.replace(/=+$/, '').length % 4 === 1
    ) {
      return invalid('malformed')
    }
    const bytes = Buffer.from(value, 'base64')
    if (bytes.length <= digestSize) return invalid('malformed')
    const payload = bytes.subarray(digestSize)
    if (!timingSafeEqual(sign(payload), bytes.subarray(0, digestSize)))
      return invalid('bad-signature')
    let parsed: unknown
    try {
      const json = UTF8.decode(payload)
      // JavaScript would round it, and the next write would hand Pyramid another number.
      if (hasUnsafeInteger(json)) return invalid('malformed')
      parsed = JSON.parse(json)
    } catch {
      return invalid('malformed')
    }
    if (!Array.isArray(parsed) || parsed.length !== 3) return invalid('malformed')
    const [accessed, created, state] = parsed as [unknown, unknown, unknown]
    if (typeof accessed !== 'number' || !Number.isFinite(accessed)) return invalid('malformed')
    if (typeof created !== 'number' || !Number.isFinite(created)) return invalid('malformed')
    if (!isPlainRecord(state)) return invalid('malformed')
    const body = fromPyramidState(state)
    if (body === undefined) return invalid('malformed')
    const createdMs = Math.round(created * 1000)
    let lastActive = Math.round(accessed * 1000)
    // `accessed` is truncated to whole seconds: within that second it may precede `created`, by
    // up to a second once `created` is rounded to the millisecond.
    if (lastActive < createdMs && createdMs - lastActive <= 1000) lastActive = createdMs
    return { ok: true, staleKey: false, payload: { created: createdMs, lastActive, body } }
  }

  return {
    encode(payload: CookiePayload): string {
      const state = toPyramidState(payload.body)
      const json = JSON.stringify([
        Math.floor(payload.lastActive / 1000),
        payload.created / 1000,
        state,
      ])
      const bytes = Buffer.from(json, 'utf8')
      return Buffer.concat([sign(bytes), bytes]).toString('base64url')
    },
    decode(value: string): CookieDecodeResult {
      const cached = cache.get(value)
      if (cached !== undefined) return cached
      const result = verify(value)
      if (result.ok) cache.set(value, result)
      return result
    },
    reservedKey: pyramidReservedKey,
  }
}
