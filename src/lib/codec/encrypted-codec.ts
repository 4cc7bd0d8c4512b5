import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto'
import { pooledRandomBytes } from './random-pool.js'
import type { CookieCodec, CookieDecodeResult, CookiePayload } from './cookie-codec.js'
import type { Keyring } from './keyring.js'
import { createVerifiedCache } from './verified-cache.js'

/** Options of {@link createEncryptedCodec}. */
export interface EncryptedCodecOptions {
  /** Keys derived for this cookie name and purpose; the current one encrypts. */
  readonly keyring: Keyring
  /** The cookie name, bound to every value as additional authenticated data. */
  readonly cookieName: string
  /**
   * How many decrypted values to remember, so repeated requests skip the decryption.
   * @defaultValue 1000
   */
  readonly cacheEntries?: number
  /**
   * The source of the 96-bit IVs. Inject one only in tests; a repeated IV under the same key
   * breaks AES-GCM completely.
   * @defaultValue `crypto.randomBytes`, drawn in blocks (see `createRandomPool`)
   */
  readonly randomBytes?: (size: number) => Uint8Array
}

/** The wire-format version this codec writes and reads. */
export const ENCRYPTED_FORMAT_VERSION = 'e1'

/** The largest value decoded, in characters; longer values are refused unread. */
export const MAX_ENCRYPTED_VALUE_LENGTH = 64 * 1024

const ALGORITHM = 'aes-256-gcm'
const IV_BYTES = 12
const TAG_BYTES = 16
const TIME_BYTES = 6 // 48-bit milliseconds: enough until the year 10889
const HEADER_BYTES = 2 * TIME_BYTES
const BASE64URL = /^[A-Za-z0-9_-]+$/
/** The cache looks values up by their last 22 characters, the base64url of the GCM tag. */
const CACHE_TAIL_LENGTH = 22

/** Decodes base64url, refusing anything but the one canonical spelling of the bytes. */
function canonicalBytes(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : undefined
}

/**
 * The encrypted wire format: `e1.<key id>.<iv>.<ciphertext and tag>`, both base64url without
 * padding. AES-256-GCM with a fresh random 96-bit IV per value and a 16-byte tag; the additional
 * authenticated data is `e1.<key id>.<cookie name>`, so a value cannot be moved to another cookie
 * name, key or format version. The plaintext holds the creation and last-activity times (48-bit
 * big-endian milliseconds each) followed by the session body (UTF-8 JSON).
 *
 * @remarks
 * Every failure past the key lookup (bad base64, wrong IV or tag length, failed authentication)
 * yields the one reason `bad-signature`, so the outcome reveals nothing about which check failed.
 * With random 96-bit IVs, NIST SP 800-38D caps a key at about 2^32 encryptions: rotate keys well
 * before a key has encrypted that many cookies (every write and re-issue counts).
 *
 * @param options the keyring, cookie name and cache size
 * @returns the codec
 *
 * @example
 * ```ts
 * const keyring = createKeyring(process.env.SESSION_SECRET!, 'encrypted-cookie/session')
 * const codec = createEncryptedCodec({ keyring, cookieName: 'session' })
 * const value = codec.encode({ created: Date.now(), lastActive: Date.now(), body: '{"d":{}}' })
 * ```
 */
export function createEncryptedCodec(options: EncryptedCodecOptions): CookieCodec {
  const { keyring, cookieName } = options
  const random = options.randomBytes ?? pooledRandomBytes
  const cache = createVerifiedCache<CookieDecodeResult>(
    options.cacheEntries ?? 1000,
    4096,
    CACHE_TAIL_LENGTH,
  )
  const aad = (keyId: string): Buffer =>
    Buffer.from(`${ENCRYPTED_FORMAT_VERSION}.${keyId}.${cookieName}`, 'utf8')
  // Additional data per key id, computed once: the per-request path only looks it up.
  const aadByKey = new Map<string, Buffer>()
  const aadFor = (keyId: string): Buffer => {
    let data = aadByKey.get(keyId)
    if (data === undefined) aadByKey.set(keyId, (data = aad(keyId)))
    return data
  }
  // A KeyObject skips preparing the raw key on every cipher.
  const keyObjects = new Map<string, KeyObject>()
  const keyObjectFor = (id: string, key: Buffer): KeyObject => {
    let object = keyObjects.get(id)
    if (object === undefined) keyObjects.set(id, (object = createSecretKey(key)))
    return object
  }

  const open = (value: string): CookieDecodeResult => {
    if (value.length > MAX_ENCRYPTED_VALUE_LENGTH) return { ok: false, reason: 'malformed' }
    const parts = value.split('.')
    if (parts.length !== 4) return { ok: false, reason: 'malformed' }
    const [version, keyId, ivText, sealedText] = parts as [string, string, string, string]
    if (version !== ENCRYPTED_FORMAT_VERSION) {
      return { ok: false, reason: /^e[0-9]+$/.test(version) ? 'unsupported-version' : 'malformed' }
    }
    const key = keyring.find(keyId)
    if (key === undefined) return { ok: false, reason: 'unknown-key' }
    const iv = canonicalBytes(ivText)
    const sealed = canonicalBytes(sealedText)
    if (
      iv?.length !== IV_BYTES ||
      sealed === undefined ||
      sealed.length < TAG_BYTES + HEADER_BYTES
    ) {
      return { ok: false, reason: 'bad-signature' }
    }
    const tag = sealed.subarray(sealed.length - TAG_BYTES)
    let plaintext: Buffer
    try {
      const decipher = createDecipheriv(ALGORITHM, keyObjectFor(keyId, key.key), iv, {
        authTagLength: TAG_BYTES,
      })
      decipher.setAAD(aadFor(keyId))
      // The length was checked above: setAuthTag never sees a truncated tag.
      decipher.setAuthTag(tag)
      plaintext = Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
        decipher.final(),
      ])
    } catch {
      return { ok: false, reason: 'bad-signature' }
    }
    return {
      ok: true,
      staleKey: key.index !== 0,
      payload: {
        created: plaintext.readUIntBE(0, TIME_BYTES),
        lastActive: plaintext.readUIntBE(TIME_BYTES, TIME_BYTES),
        body: plaintext.toString('utf8', HEADER_BYTES),
      },
    }
  }

  return {
    encode(payload: CookiePayload): string {
      const { current } = keyring
      const plaintext = Buffer.allocUnsafe(HEADER_BYTES + Buffer.byteLength(payload.body, 'utf8'))
      // writeUIntBE throws a RangeError for times outside 0 .. 2^48 - 1 (a broken clock).
      plaintext.writeUIntBE(Math.trunc(payload.created), 0, TIME_BYTES)
      plaintext.writeUIntBE(Math.trunc(payload.lastActive), TIME_BYTES, TIME_BYTES)
      plaintext.write(payload.body, HEADER_BYTES, 'utf8')
      const bytes = random(IV_BYTES)
      // A view, not a copy: the IV is used at once.
      const iv = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      const cipher = createCipheriv(ALGORITHM, keyObjectFor(current.id, current.key), iv, {
        authTagLength: TAG_BYTES,
      })
      cipher.setAAD(aadFor(current.id))
      const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
      return `${ENCRYPTED_FORMAT_VERSION}.${current.id}.${iv.toString('base64url')}.${sealed.toString('base64url')}`
    },
    decode(value: string): CookieDecodeResult {
      const cached = cache.get(value)
      if (cached !== undefined) return cached
      const result = open(value)
      if (result.ok) cache.set(value, result)
      return result
    },
  }
}
