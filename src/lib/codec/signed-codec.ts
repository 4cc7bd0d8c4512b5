import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import type { CookieCodec, CookieDecodeResult, CookiePayload } from './cookie-codec.js'
import type { Keyring } from './keyring.js'
import { createVerifiedCache } from './verified-cache.js'

/** Options of {@link createSignedCodec}. */
export interface SignedCodecOptions {
  /** Keys derived for this cookie name and purpose; the current one signs. */
  readonly keyring: Keyring
  /**
   * How many verified values to remember, so repeated requests skip the HMAC.
   * @defaultValue 1000
   */
  readonly cacheEntries?: number
}

/** The wire-format version this codec writes and reads. */
export const SIGNED_FORMAT_VERSION = '1'

const MAC_LENGTH = 43 // base64url of 32 bytes, no padding
const MAX_VALUE_LENGTH = 64 * 1024 // the largest split session (maxTotalCookieBytes)
const BASE64URL = /^[A-Za-z0-9_-]*$/
/** The cache looks values up by their MAC (and then compares them whole). */
const CACHE_TAIL_LENGTH = MAC_LENGTH
const TIME = /^[0-9a-z]{1,11}$/

const invalid = <R extends CookieDecodeResult & { ok: false }>(
  reason: R['reason'],
): CookieDecodeResult => ({
  ok: false,
  reason,
})

/**
 * The signed wire format: `1.<key id>.<created>.<last active>.<body>.<mac>`, where times are
 * base-36 milliseconds, the body is base64url JSON, and the MAC is HMAC-SHA256 (base64url) over
 * everything before it, keyed per cookie name and purpose. The MAC is checked, in constant time,
 * before anything else is parsed.
 *
 * @param options the keyring and cache size
 * @returns the codec
 */
export function createSignedCodec(options: SignedCodecOptions): CookieCodec {
  const { keyring } = options
  const cache = createVerifiedCache<CookieDecodeResult>(
    options.cacheEntries ?? 1000,
    4096,
    CACHE_TAIL_LENGTH,
  )
  // A KeyObject per key: an HMAC keyed by one is set up faster than by the raw bytes.
  const keyObjects = new WeakMap<Buffer, KeyObject>()
  const mac = (key: Buffer, signed: string): string => {
    let object = keyObjects.get(key)
    if (object === undefined) keyObjects.set(key, (object = createSecretKey(key)))
    return createHmac('sha256', object).update(signed).digest('base64url')
  }

  const verify = (value: string): CookieDecodeResult => {
    if (value.length > MAX_VALUE_LENGTH) return invalid('malformed')
    // Six dot-separated fields, found by position: no array of parts on every request.
    const keyStart = value.indexOf('.') + 1
    const createdStart = value.indexOf('.', keyStart) + 1
    const activeStart = createdStart === 0 ? 0 : value.indexOf('.', createdStart) + 1
    const bodyStart = activeStart === 0 ? 0 : value.indexOf('.', activeStart) + 1
    const macStart = bodyStart === 0 ? -1 : value.indexOf('.', bodyStart)
    if (keyStart === 0 || macStart < 0 || value.includes('.', macStart + 1)) {
      return invalid('malformed')
    }
    if (value.slice(0, keyStart - 1) !== SIGNED_FORMAT_VERSION)
      return invalid('unsupported-version')
    const keyId = value.slice(keyStart, createdStart - 1)
    const created = value.slice(createdStart, activeStart - 1)
    const lastActive = value.slice(activeStart, bodyStart - 1)
    const body = value.slice(bodyStart, macStart)
    const signed = value.slice(0, macStart)
    const given = value.slice(macStart + 1)
    if (given.length !== MAC_LENGTH || !BASE64URL.test(given)) return invalid('malformed')
    const key = keyring.find(keyId)
    if (key === undefined) return invalid('unknown-key')
    // Compare the encoded strings: every character counts, so no two strings share a MAC.
    if (
      !timingSafeEqual(Buffer.from(mac(key.key, signed), 'latin1'), Buffer.from(given, 'latin1'))
    ) {
      return invalid('bad-signature')
    }
    if (!TIME.test(created) || !TIME.test(lastActive) || !BASE64URL.test(body))
      return invalid('malformed')
    return {
      ok: true,
      staleKey: key.index !== 0,
      payload: {
        created: parseInt(created, 36),
        lastActive: parseInt(lastActive, 36),
        body: Buffer.from(body, 'base64url').toString('utf8'),
      },
    }
  }

  return {
    encode(payload: CookiePayload): string {
      const { current } = keyring
      const signed =
        `${SIGNED_FORMAT_VERSION}.${current.id}.${Math.trunc(payload.created).toString(36)}.` +
        `${Math.trunc(payload.lastActive).toString(36)}.${Buffer.from(payload.body, 'utf8').toString('base64url')}`
      return `${signed}.${mac(current.key, signed)}`
    },
    decode(value: string): CookieDecodeResult {
      const cached = cache.get(value)
      if (cached !== undefined) return cached
      const result = verify(value)
      if (result.ok) cache.set(value, result)
      return result
    },
  }
}
