import { createHash, hkdfSync } from 'node:crypto'
import { ConfigError } from '../errors.js'

/** A secret with an explicit key id, so that the cookie names the key that made it. */
export interface KeyringSecret {
  /** A short, unique, cookie-safe name for the key (letters, digits, `_`, `-`; at most 32). */
  readonly id: string
  /** At least 32 bytes (256 bits), such as the output of `npx cloakroom keygen`. */
  readonly secret: string | Uint8Array
}

/**
 * Secrets as factories accept them: one secret, or a list whose first entry signs/encrypts and
 * whose other entries are only accepted (for rotation).
 */
export type Secrets =
  string | Uint8Array | KeyringSecret | readonly (string | Uint8Array | KeyringSecret)[]

/** One key of a {@link Keyring}, derived for a single purpose. */
export interface KeyringKey {
  /** The key id written into cookies. */
  readonly id: string
  /** The derived key bytes (32). */
  readonly key: Buffer
  /** The position in the configured list; 0 is the current key. */
  readonly index: number
}

/** Keys derived once, at start-up, for one purpose; looked up by the id a cookie carries. */
export interface Keyring {
  /** The current key: it signs or encrypts everything new. */
  readonly current: KeyringKey
  /**
   * @param id the key id read from a cookie
   * @returns the key with that id, or undefined when it is not (or no longer) configured
   */
  find(id: string): KeyringKey | undefined
}

/** The smallest secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 32

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/
const KEYGEN_HINT = 'Generate one with `npx cloakroom keygen` (32 random bytes, base64url).'

function secretBytes(secret: string | Uint8Array, option: string): Buffer {
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    throw new ConfigError(option, `expected a string or bytes. ${KEYGEN_HINT}`)
  }
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret)
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      option,
      `the secret is ${bytes.length} bytes; at least ${MIN_SECRET_BYTES} (256 bits) are required. ${KEYGEN_HINT}`,
    )
  }
  return bytes
}

/**
 * Validates secrets and derives one key per secret for `purpose` with HKDF-SHA256, once.
 *
 * @param secrets the configured secrets
 * @param purpose what the keys are for, such as `signed-cookie/session`; keys for different
 *   purposes are unrelated even when the secret is shared
 * @param option the option name used in error messages
 * @returns the keyring
 * @throws {@link ConfigError} when a secret is missing, shorter than 32 bytes, or ids repeat
 */
export function createKeyring(
  secrets: Secrets | undefined,
  purpose: string,
  option = 'secrets',
): Keyring {
  if (
    secrets === undefined ||
    secrets === null ||
    (Array.isArray(secrets) && secrets.length === 0)
  ) {
    throw new ConfigError(option, `at least one secret is required. ${KEYGEN_HINT}`)
  }
  const list = (Array.isArray(secrets) ? secrets : [secrets]) as readonly (
    string | Uint8Array | KeyringSecret
  )[]
  const keys: KeyringKey[] = []
  const byId = new Map<string, KeyringKey>()
  list.forEach((entry, index) => {
    const name = `${option}[${index}]`
    const explicit = typeof entry === 'object' && entry !== null && !(entry instanceof Uint8Array)
    const bytes = secretBytes(explicit ? entry.secret : entry, explicit ? `${name}.secret` : name)
    const id = explicit
      ? entry.id
      : createHash('sha256')
          .update('cloakroom/key-id\0')
          .update(bytes)
          .digest('base64url')
          .slice(0, 8)
    if (typeof id !== 'string' || !KEY_ID.test(id)) {
      throw new ConfigError(`${name}.id`, 'a key id is 1 to 32 letters, digits, "_" or "-".')
    }
    if (byId.has(id)) {
      throw new ConfigError(name, `key id "${id}" is used twice (the same secret listed twice?).`)
    }
    const key: KeyringKey = {
      id,
      index,
      key: Buffer.from(hkdfSync('sha256', bytes, 'cloakroom', `cloakroom/v1/${purpose}`, 32)),
    }
    keys.push(key)
    byId.set(id, key)
  })
  return { current: keys[0]!, find: (id) => byId.get(id) }
}
