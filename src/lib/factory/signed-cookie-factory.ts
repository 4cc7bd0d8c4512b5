import { createKeyring, type Secrets } from '../codec/keyring.js'
import { createSignedCodec } from '../codec/signed-codec.js'
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

/** Options of {@link createSignedCookieFactory}. */
export interface SignedCookieFactoryOptions
  extends SessionCookieOptions, CookieSizeOptions, RevocableCookieOptions {
  /**
   * The signing secrets, each at least 32 bytes: one, or a list whose first entry signs and whose
   * others are still accepted (cookies they signed are re-issued under the first). Generate one
   * with `npx cloakroom keygen`.
   *
   * > [!WARNING]
   * > Anyone who knows a secret can forge any session. Keep secrets out of source control, and
   * > never reuse one for another purpose.
   */
  readonly secrets: Secrets
}

/**
 * Creates the default session factory: the session lives in a cookie that the user can read but
 * not forge (HMAC-SHA256, keyed per cookie name, with key rotation).
 *
 * @param options secrets, cookie options and, optionally, `revocation`
 * @returns the session factory; with `revocation`, a {@link RevocableSessionFactory}
 * @throws {@link ConfigError} when a secret is missing or too short, or an option is invalid
 *
 * @example
 * ```ts
 * import { createSignedCookieFactory } from 'cloakroom'
 * const factory = createSignedCookieFactory({ secrets: process.env.SESSION_SECRET! })
 * ```
 *
 * @example Revocable sessions ("log out everywhere")
 * ```ts
 * import { createMemoryStore, createSignedCookieFactory } from 'cloakroom'
 * const factory = createSignedCookieFactory({
 *   secrets: process.env.SESSION_SECRET!,
 *   revocation: { store: createMemoryStore() },
 * })
 * await factory.revokeSessions('user-42')
 * ```
 */
export function createSignedCookieFactory<Data extends object = DefaultSessionData>(
  options: SignedCookieFactoryOptions & { readonly revocation: CookieRevocationOptions },
): RevocableSessionFactory<Data>
/**
 * Creates the factory without `revocation`: see the overload above.
 *
 * @param options secrets and cookie options
 * @returns the session factory
 */
export function createSignedCookieFactory<Data extends object = DefaultSessionData>(
  options: SignedCookieFactoryOptions,
): SessionFactory<Data>
export function createSignedCookieFactory<Data extends object = DefaultSessionData>(
  options: SignedCookieFactoryOptions,
): SessionFactory<Data> {
  const resolved = resolveCookieOptions(options)
  const keyring = createKeyring(options.secrets, `signed-cookie/${resolved.cookieName}`)
  return createCookieSessionFactory<Data>(
    createSignedCodec({ keyring }),
    resolved,
    resolveMaxCookieBytes(options.maxCookieBytes),
    resolveCookieEngineOptions(options),
    options.revocation,
  )
}
