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
  type FlashMessage,
  type FlashOptions,
  type FlashTypes,
  type SessionCommitView,
  type SessionContext,
  type SessionData,
  type SessionInit,
  type SessionKey,
  type SessionValue,
} from './lib/session/session.js'
export type { NamespaceChanges } from './lib/session/change-tracking.js'
export { maskCsrfToken, verifyCsrfToken } from './lib/session/csrf-token.js'
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
export {
  createEncryptedCookieFactory,
  type EncryptedCookieFactoryOptions,
} from './lib/factory/encrypted-cookie-factory.js'
export {
  MAX_COOKIE_BYTES,
  MAX_TOTAL_COOKIE_BYTES,
  type CookieOverflow,
  type CookieSizeOptions,
} from './lib/factory/cookie-factory.js'
export type { InvalidCookieInfo, SessionCookieOptions } from './lib/factory/options.js'
export type {
  CookieRevocationOptions,
  RevocableCookieOptions,
  RevocableSessionFactory,
} from './lib/factory/cookie-revocation.js'
export {
  createStoreFactory,
  type RevokeSessionsOptions,
  type StoreErrorPolicy,
  type StoreFactoryOptions,
  type StoreOperation,
  type StoreSessionFactory,
} from './lib/factory/store-factory.js'
export type {
  PruneOptions,
  SessionPatch,
  SessionStore,
  StoreStats,
  StoredNamespacePatch,
  StoredSession,
  StoredSessionSummary,
} from './lib/store/session-store.js'
export {
  createMemoryStore,
  type MemoryStore,
  type MemoryStoreOptions,
} from './lib/store/memory-store.js'
export {
  fromExpressSessionStore,
  type ExpressSessionCallback,
  type ExpressSessionStoreLike,
  type ExpressSessionStoreOptions,
} from './lib/store/express-session-store.js'
export {
  adoptExpressSessions,
  type ExpressSessionAdopterOptions,
} from './lib/store/express-session-adopter.js'
export type { AdoptedSession, SessionAdopter } from './lib/store/session-adopter.js'
export type { InvalidCookieReason } from './lib/codec/cookie-codec.js'
export type { KeyringSecret, Secrets } from './lib/codec/keyring.js'
export { applySessionCookies, type HeaderCarrier } from './lib/http/carrier.js'
export {
  checkCsrf,
  resolveCsrfOptions,
  type CsrfOptions,
  type CsrfRequest,
  type ResolvedCsrfOptions,
} from './lib/http/csrf.js'
export {
  CloakroomError,
  ConfigError,
  CookieTooLargeError,
  CsrfError,
  type CsrfFailure,
  FormTooLargeError,
  InvalidArgumentError,
  SessionCommittedError,
  StoreUnavailableError,
  UnserializableValueError,
  type CloakroomErrorCode,
} from './lib/errors.js'
