import { createPyramidCodec, type PyramidHashAlgorithm } from '../codec/pyramid-codec.js'
import { plainJsonSerializer } from '../session/serializer.js'
import type { DefaultSessionData } from '../session/session.js'
import { createCookieSessionFactory, resolveMaxCookieBytes } from './cookie-factory.js'
import { resolveCookieOptions, type SessionCookieOptions } from './options.js'
import type { SessionFactory } from './session-factory.js'

/** Options of {@link createPyramidCookieFactory}. */
export interface PyramidCookieFactoryOptions extends SessionCookieOptions {
  /**
   * The `secret` of the Pyramid app's `SignedCookieSessionFactory`; at least 32 bytes (Cloakroom
   * refuses shorter secrets even though Pyramid accepts them). A string is encoded as Pyramid
   * encodes it: latin-1, or UTF-8 when it or the salt holds a character above U+00FF.
   *
   * > [!WARNING]
   * > Anyone who knows the secret can forge any session, in both apps. Keep it out of source
   * > control and use it for nothing else.
   */
  readonly secret: string | Uint8Array
  /**
   * The Pyramid app's `salt`.
   * @defaultValue `'pyramid.session.'`
   */
  readonly salt?: string | Uint8Array
  /**
   * The Pyramid app's `hashalg`, as Python's `hashlib` names it.
   * @defaultValue `'sha512'`
   */
  readonly hashalg?: PyramidHashAlgorithm | (string & {})
  /**
   * The largest `Set-Cookie` header (name, value and attributes) the factory will send, in
   * bytes; larger sessions throw {@link CookieTooLargeError}. Pyramid itself refuses to write
   * values over 4064 characters (about 2984 bytes of JSON with sha512).
   * @defaultValue 4096
   */
  readonly maxCookieBytes?: number
}

/**
 * Creates a session factory that reads and writes the cookies of Pyramid 2's
 * `SignedCookieSessionFactory` (default JSON serializer), so that a Pyramid app and a Cloakroom
 * app on one domain share sessions during a migration.
 *
 * @remarks
 * Give it the Pyramid app's `secret`, `salt`, `hashalg` and cookie name. Pyramid's flash queues
 * (`_f_<queue>`) and CSRF token (`_csrft_`) are shared with Cloakroom's; all other keys are user
 * data. Values are plain JSON ({@link plainJsonSerializer} by default), as Pyramid stores them.
 * Timeouts are enforced by each app with its own settings: set `timeout` to Pyramid's, and
 * `absoluteTimeout: null` if Pyramid sessions must not end after a day.
 *
 * @param options the Pyramid app's secret, salt and hash algorithm, and the cookie options
 * @returns the session factory
 * @throws {@link ConfigError} when the secret is shorter than 32 bytes, `hashalg` is unknown, or
 *   an option is invalid
 *
 * @example
 * ```ts
 * import { createPyramidCookieFactory } from 'cloakroom/pyramid'
 * const factory = createPyramidCookieFactory({ secret: process.env.PYRAMID_SESSION_SECRET! })
 * ```
 */
export function createPyramidCookieFactory<Data extends object = DefaultSessionData>(
  options: PyramidCookieFactoryOptions,
): SessionFactory<Data> {
  const resolved = resolveCookieOptions({
    ...options,
    serializer: options.serializer ?? plainJsonSerializer,
  })
  const codec = createPyramidCodec({
    secret: options.secret,
    ...(options.salt === undefined ? {} : { salt: options.salt }),
    ...(options.hashalg === undefined ? {} : { hashalg: options.hashalg }),
  })
  return createCookieSessionFactory<Data>(
    codec,
    resolved,
    resolveMaxCookieBytes(options.maxCookieBytes),
  )
}
