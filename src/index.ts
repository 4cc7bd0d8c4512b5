/**
 * `cloakroom`: the session, the session factories and the errors.
 *
 * @example
 * ```ts
 * import { createSignedCookieFactory } from 'cloakroom'
 * const factory = createSignedCookieFactory({ secrets: process.env.SESSION_SECRET! })
 * ```
 *
 * @module cloakroom
 */
export {
  Session,
  sessionChanges,
  type DefaultSessionData,
  type SessionCommitView,
  type SessionContext,
  type SessionData,
  type SessionInit,
  type SessionKey,
} from './lib/session/session.js'
export type { NamespaceChanges } from './lib/session/change-tracking.js'
export {
  jsonSerializer,
  plainJsonSerializer,
  type JsonValue,
  type Serializer,
} from './lib/session/serializer.js'
export type { CommitOptions, SessionFactory } from './lib/factory/session-factory.js'
export {
  createSignedCookieFactory,
  type SignedCookieFactoryOptions,
} from './lib/factory/signed-cookie-factory.js'
export { MAX_COOKIE_BYTES } from './lib/factory/cookie-factory.js'
export type { InvalidCookieInfo, SessionCookieOptions } from './lib/factory/options.js'
export type { InvalidCookieReason } from './lib/codec/cookie-codec.js'
export type { KeyringSecret, Secrets } from './lib/codec/keyring.js'
export { applySessionCookies, type HeaderCarrier } from './lib/http/carrier.js'
export {
  CloakroomError,
  ConfigError,
  CookieTooLargeError,
  SessionCommittedError,
  StoreUnavailableError,
  UnserializableValueError,
  type CloakroomErrorCode,
} from './lib/errors.js'
