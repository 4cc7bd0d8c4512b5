import { createEncryptedCodec } from '../codec/encrypted-codec.js'
import { createKeyring, type Secrets } from '../codec/keyring.js'
import type { DefaultSessionData } from '../session/session.js'
import {
  createCookieSessionFactory,
  resolveCookieEngineOptions,
  resolveMaxCookieBytes,
  type CookieSizeOptions,
} from './cookie-factory.js'
import type {
  CookieRevocationOptions,
  RevocableCookieOptions,
  RevocableSessionFactory,
} from './cookie-revocation.js'
import { resolveCookieOptions, type SessionCookieOptions } from './options.js'
import type { SessionFactory } from './session-factory.js'

/** Options of {@link createEncryptedCookieFactory}. */
export interface EncryptedCookieFactoryOptions
  extends SessionCookieOptions, CookieSizeOptions, RevocableCookieOptions {
  /**
   * The encryption secrets, each at least 32 bytes: one, or a list whose first entry encrypts and
   * whose others only decrypt (cookies they made are re-issued under the first). Give entries as
   * `{ id, secret }` to choose the key id written into cookies. Generate one with
   * `npx cloakroom keygen`.
   *
   * > [!WARNING]
   * > Anyone who knows a secret can read and forge any session. Keep secrets out of source
   * > control. A key should encrypt fewer than 2^32 cookies (every write and re-issue counts):
   * > rotate long before that.
   */
  readonly secrets: Secrets
}

/**
 * Creates a session factory whose cookie the user can neither read nor forge: AES-256-GCM with a
 * random 96-bit IV per cookie, keys derived per cookie name with HKDF, and key rotation.
 *
 * @remarks
 * Sessions behave exactly as with `createSignedCookieFactory` (timeouts, re-issue,
 * `setOnException`, size limit, `onInvalidCookie`). Any bad value (wrong key, a changed or
 * truncated character, a cookie made for another name or by the signed factory) gives a fresh
 * session; authentication failures all report the one reason `bad-signature`.
 *
 * @param options secrets, cookie options and, optionally, `revocation`
 * @returns the session factory; with `revocation`, a {@link RevocableSessionFactory}
 * @throws {@link ConfigError} when a secret is missing or too short, or an option is invalid
 *
 * @example
 * ```ts
 * import { createEncryptedCookieFactory } from 'cloakroom'
 * const factory = createEncryptedCookieFactory({
 *   secrets: [{ id: '2025-06', secret: process.env.SESSION_SECRET! }],
 * })
 * ```
 */
export function createEncryptedCookieFactory<Data extends object = DefaultSessionData>(
  options: EncryptedCookieFactoryOptions & { readonly revocation: CookieRevocationOptions },
): RevocableSessionFactory<Data>
/**
 * Creates the factory without `revocation`: see the overload above.
 *
 * @param options secrets and cookie options
 * @returns the session factory
 */
export function createEncryptedCookieFactory<Data extends object = DefaultSessionData>(
  options: EncryptedCookieFactoryOptions,
): SessionFactory<Data>
export function createEncryptedCookieFactory<Data extends object = DefaultSessionData>(
  options: EncryptedCookieFactoryOptions,
): SessionFactory<Data> {
  const resolved = resolveCookieOptions(options)
  const { cookieName } = resolved
  const keyring = createKeyring(options.secrets, `encrypted-cookie/${cookieName}`)
  return createCookieSessionFactory<Data>(
    createEncryptedCodec({ keyring, cookieName }),
    resolved,
    resolveMaxCookieBytes(options.maxCookieBytes),
    resolveCookieEngineOptions(options),
    options.revocation,
  )
}
