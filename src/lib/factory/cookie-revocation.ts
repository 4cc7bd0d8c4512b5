import { createStoreCaller } from '../store/store-call.js'
import { hash } from 'node:crypto'
import { pooledRandomBytes } from '../codec/random-pool.js'
import { ConfigError } from '../errors.js'
import type { JsonValue } from '../session/serializer.js'
import type { DefaultSessionData } from '../session/session.js'
import type { SessionStore, StoredNamespacePatch, StoredSession } from '../store/session-store.js'
import { MAX_COOKIE_LIFETIME_SECONDS } from './options.js'
import type { SessionFactory } from './session-factory.js'
import type { RevokeSessionsOptions } from './store-factory.js'

/** The number of random bytes in a revocable cookie's session id (128 bits). */
export const COOKIE_SESSION_ID_BYTES = 16
/** The default `storeTimeout` of {@link CookieRevocationOptions}, in milliseconds. */
export const DEFAULT_REVOCATION_TIMEOUT_MS = 2000
/**
 * How long a revocable cookie session may live when `absoluteTimeout` is null: 400 days, the
 * longest lifetime browsers give a cookie (RFC 6265bis). Revocation records must outlive the
 * cookies they refuse, so with revocation on, sessions older than this end.
 */
export const MAX_REVOCABLE_LIFETIME_MS = MAX_COOKIE_LIFETIME_SECONDS * 1000
/**
 * The most revoked session ids an owner record holds. The record is read on every request that
 * carries an owned cookie, so it must stay small: past this, a logout or a regenerate ends all
 * of the owner's sessions (a new generation; a session that regenerates goes on under it)
 * instead of adding an id. Only ids within their absolute timeout count, so an ordinary user
 * never comes near it.
 */
export const MAX_REVOKED_PER_OWNER = 256
/** Added to the expiry of revocation records, for clocks that differ between servers. */
const CLOCK_MARGIN_MS = 60_000

/** The shape of a revocable cookie's session id: 16 random bytes, base64url, no padding. */
const COOKIE_SESSION_ID = /^[A-Za-z0-9_-]{22}$/
/** The number of random bytes in a new owner record's first generation (48 bits). */
const GENERATION_BYTES = 6
/** The owner record's field holding the owner's generation. */
const GENERATION_FIELD = 'gen'
/** The prefix of the owner record's fields naming a revoked session id: `r:<sid>`. */
const REVOKED_PREFIX = 'r:'
/**
 * The owner record's field naming the session the last bump kept: a second "log out other
 * devices" from that session, sent before it got the first one's answer (a double click),
 * keeps it too.
 */
const KEPT_FIELD = 'kept'
const NO_CHANGES: StoredNamespacePatch = { set: new Map(), deleted: new Set() }

/** The `revocation` option of the signed and encrypted cookie factories. */
export interface CookieRevocationOptions {
  /**
   * Where revocations are recorded: any {@link SessionStore} (`createMemoryStore()`,
   * `cloakroom/sqlite`, `cloakroom/redis`, `cloakroom/postgres`, ...). It may be the store of a
   * `createStoreFactory`: the revocation records use keys no session record can have.
   *
   * > [!WARNING]
   * > The store must read its own writes (a primary, not a lagging read replica), and keep
   * > records until they expire. A lost record can let a revoked cookie back
   * > in: size `createMemoryStore({ maxEntries })` for one record per logout (of a session
   * > without an owner that held data) within `absoluteTimeout`, plus one per user, and run Redis
   * > with `maxmemory-policy noeviction`, never an evicting policy.
   */
  readonly store: SessionStore
  /**
   * How long one store call may take, in milliseconds, before the request fails with
   * {@link StoreUnavailableError} (adapters answer 503).
   * @defaultValue 2000
   */
  readonly storeTimeout?: number
  /**
   * The source of session ids. Inject one in tests; never replace it in production.
   * @defaultValue `randomBytes` from `node:crypto`
   */
  readonly randomBytes?: (size: number) => Uint8Array
}

/**
 * A cookie {@link SessionFactory} with `revocation` on: its sessions can be ended on the server,
 * one by one (`session.invalidate()`) or per user (`revokeSessions`).
 */
export interface RevocableSessionFactory<
  Data extends object = DefaultSessionData,
> extends SessionFactory<Data> {
  /**
   * Ends every cookie session of a user (the owner given to `session.setOwner()`), or every other
   * one with `except` ("log out other devices"): cookies issued for the owner before the call are
   * refused from then on (`onInvalidCookie('revoked')`, then a fresh session).
   *
   * @remarks
   * Bumps the owner's generation in the store. A session passed as `except` that belongs to the
   * owner is re-issued under the new generation by its own response, so call this before the
   * response is sent. It is not when it was ended before the call (a logout in another tab, an
   * earlier `revokeSessions`), nor when another call overlapping this one replaced its
   * generation: of two calls at once, only one keeps its session. A session that gets its owner
   * in the same request (login, then "log out other devices") takes the new generation anyway.
   *
   * @param owner the user's id
   * @param options the session to keep
   * @throws {@link StoreUnavailableError} when the store cannot be reached
   * @throws {@link SessionCommittedError} when `except` was already committed
   */
  revokeSessions(owner: string, options?: RevokeSessionsOptions<Data>): Promise<void>
}

/** What a revocable cookie carries beside the session: who it is, and for whom it was issued. */
export interface CookieIdentity {
  /** The session id (128 random bits, base64url). */
  readonly sid: string
  /** The owner, when the session has one. */
  readonly owner: string | undefined
  /** The owner's generation when the cookie was issued; set exactly when `owner` is. */
  readonly gen: number | undefined
  /** When the session began (its absolute timeout counts from here). */
  readonly created: number
  /**
   * Whether the cookie held user data. An ownerless cookie without any (only library fields,
   * such as a CSRF token) is not recorded when it ends: replaying it gives nothing away, and
   * recording it would let anyone fill the store with two requests per record.
   */
  readonly holdsData: boolean
}

/** The outcome of checking a cookie against the store. */
export type RevocationCheck =
  | { readonly revoked: true }
  | {
      readonly revoked: false
      /** The owner record's `r:` fields that have expired, to delete with the next write. */
      readonly stale: readonly string[]
      /** How many live revoked ids the owner record holds (0 without an owner). */
      readonly revokedCount: number
    }

/** What {@link CookieRevocation.bump} did. */
export interface BumpResult {
  /** The owner's new generation. */
  readonly gen: number
  /** Whether the session to keep may go on under it. */
  readonly kept: boolean
}

/** The store side of cookie revocation, used by the cookie engine. */
export interface CookieRevocation {
  /** @returns a new session id */
  mintSid(): string
  /**
   * @param value a field read from an authenticated cookie
   * @returns whether it has the shape of a session id
   */
  isSid(value: unknown): value is string
  /**
   * Reads the one record that decides whether a cookie was revoked: the owner's record for an
   * owned session, the session id's marker otherwise.
   *
   * @param identity what the cookie carries
   * @returns whether it was revoked
   * @throws {@link StoreUnavailableError} when the store cannot be reached
   */
  check(identity: CookieIdentity): Promise<RevocationCheck>
  /**
   * Records a session id as revoked until its cookie would have expired anyway. An ownerless
   * cookie that held no user data is not recorded. (An owner record that holds
   * {@link MAX_REVOKED_PER_OWNER} revoked ids is not made longer: the cookie engine moves the
   * owner's generation with `bump` instead.)
   *
   * @param identity the cookie to refuse from now on
   * @param stale expired fields of the owner record to delete meanwhile
   * @throws {@link StoreUnavailableError} when the store cannot be reached
   */
  revoke(identity: CookieIdentity, stale: readonly string[]): Promise<void>
  /**
   * The owner's current generation, for a cookie about to be issued to the owner; creates the
   * owner's record when there is none and keeps it alive as long as the cookie.
   *
   * @param owner the owner
   * @param created when the session began
   * @returns the generation to put in the cookie
   * @throws {@link StoreUnavailableError} when the store cannot be reached
   */
  generation(owner: string, created: number): Promise<number>
  /**
   * Bumps the owner's generation, so every cookie issued before is refused.
   *
   * @param owner the owner
   * @param keep a session of the owner that is to go on under the new generation (the request's
   *   own, for "log out other devices", or one regenerated past the revoked-id limit)
   * @returns the new generation, and whether `keep` may go on: only if it was still valid when
   *   the record was read (its generation, its id not revoked) and no other bump replaced this
   *   one's generation meanwhile; undefined when the owner has no record (no cookie to refuse)
   * @throws {@link StoreUnavailableError} when the store cannot be reached
   */
  bump(owner: string, keep?: CookieIdentity): Promise<BumpResult | undefined>
}

/**
 * Validates the `revocation` option and builds its store side.
 *
 * @remarks
 * Records (keys are SHA-256, base64url, of a label no session id can produce):
 * - `revoked/<cookie name>/<sid>`: the marker of a revoked session that had no owner; it expires
 *   with the session's absolute deadline.
 * - `owner/<cookie name>/<owner>`: per owner, the generation (`gen`) and the revoked session ids
 *   of the owner's sessions (`r:<sid>`, each with its deadline). It outlives every cookie issued
 *   for the owner, and an owned cookie whose owner record is missing is refused.
 *
 * Neither record sets `owner`, so `listSessions` and `revokeSessions` of a store factory sharing
 * the store never see them.
 *
 * @param options the option as given
 * @param cookieName the factory's cookie name (records are scoped by it)
 * @param now the factory's clock
 * @param lifetimeMs the longest a session can live (its absolute timeout)
 * @returns the revocation helper
 * @throws {@link ConfigError} when the store, timeout or randomness is invalid
 */
export function createCookieRevocation(
  options: CookieRevocationOptions,
  cookieName: string,
  now: () => number,
  lifetimeMs: number,
): CookieRevocation {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('revocation', 'expected { store }.')
  }
  const store = options.store
  for (const method of ['get', 'set', 'patch', 'touch'] as const) {
    if (typeof store?.[method] !== 'function') {
      throw new ConfigError('revocation.store', `expected a SessionStore; ${method}() is missing.`)
    }
  }
  const timeoutMs = options.storeTimeout ?? DEFAULT_REVOCATION_TIMEOUT_MS
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ConfigError('revocation.storeTimeout', 'expected a number of milliseconds > 0.')
  }
  const randomBytes = options.randomBytes ?? pooledRandomBytes
  if (typeof randomBytes !== 'function') {
    throw new ConfigError('revocation.randomBytes', 'expected a function.')
  }

  const key = (label: string): string =>
    hash('sha256', `cloakroom/revocation/${label}`, 'base64url')
  const markerKey = (sid: string): string => key(`revoked/${cookieName}/${sid}`)
  const ownerKey = (owner: string): string => key(`owner/${cookieName}/${owner}`)
  /** The expiry of a record that must outlive every cookie issued up to `time`. */
  const outliving = (time: number): number => time + lifetimeMs + CLOCK_MARGIN_MS

  const call = createStoreCaller(timeoutMs, 'revocation store')

  const generationOf = (record: StoredSession): number | undefined => {
    const gen = record.system[GENERATION_FIELD]
    return typeof gen === 'number' && Number.isSafeInteger(gen) ? gen : undefined
  }

  /** A random generation below 2^48, so a new owner record does not repeat an earlier one's. */
  const randomGeneration = (): number => {
    const bytes = randomBytes(GENERATION_BYTES)
    if (bytes.byteLength < GENERATION_BYTES) {
      throw new ConfigError(
        'revocation.randomBytes',
        `expected ${GENERATION_BYTES} bytes when asked for ${GENERATION_BYTES}.`,
      )
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, GENERATION_BYTES).readUIntBE(
      0,
      GENERATION_BYTES,
    )
  }

  /**
   * Creates the owner's record (the store has no "create if absent", so it is a plain write) and
   * returns the generation for the cookie being issued.
   *
   * A new record starts at a random generation (48 bits), not at one an earlier record of the
   * owner had. A create that lands late, after a concurrent login created the record and a logout
   * or `revokeSessions` then changed it, replaces that record: the cookies issued under it carry
   * the other generation and are refused (fail closed), where a fixed starting generation would
   * let the revoked ones back in. The record is read back, so that two logins creating it at once
   * both issue the generation of the write that landed last.
   */
  const createOwnerRecord = async (owner: string, time: number): Promise<number> => {
    const ownerRecordKey = ownerKey(owner)
    const gen = randomGeneration()
    const record: StoredSession = {
      data: {},
      system: { [GENERATION_FIELD]: gen },
      created: time,
      lastActive: time,
      expires: outliving(time),
    }
    await call('commit', () => store.set(ownerRecordKey, record))
    const stored = await call('commit', () => store.get(ownerRecordKey))
    return (stored === undefined ? undefined : generationOf(stored)) ?? gen
  }

  /** Moves the owner's generation on; see {@link CookieRevocation.bump}. */
  const bump = async (owner: string, keep?: CookieIdentity): Promise<BumpResult | undefined> => {
    const time = now()
    const ownerRecordKey = ownerKey(owner)
    const record = await call('revokeSessions', () => store.get(ownerRecordKey))
    if (record === undefined) return undefined
    const current = generationOf(record)
    // A session revoked before this bump (its generation gone, its id recorded) stays ended,
    // unless the bump that moved its generation kept it.
    const keepable =
      keep !== undefined &&
      (current === keep.gen || record.system[KEPT_FIELD] === keep.sid) &&
      !Object.hasOwn(record.system, REVOKED_PREFIX + keep.sid)
    // A random generation, not the next number: two bumps at once then write different ones,
    // and only the one whose generation stands keeps its session. (A random source that repeats
    // itself, as a test's may, still moves it on.)
    let next = randomGeneration()
    if (next === current) next = (next + 1) % 2 ** (8 * GENERATION_BYTES)
    // Every revoked id in the record was issued under an older generation: refused anyway.
    const deleted = new Set(
      Object.keys(record.system).filter((field) => field.startsWith(REVOKED_PREFIX)),
    )
    const set = new Map<string, JsonValue>([[GENERATION_FIELD, next]])
    if (keepable) set.set(KEPT_FIELD, keep.sid)
    else deleted.add(KEPT_FIELD)
    const patched = await call('revokeSessions', () =>
      store.patch(ownerRecordKey, {
        data: NO_CHANGES,
        system: { set, deleted },
        lastActive: time,
        expires: Math.max(record.expires, outliving(time)),
      }),
    )
    if (!patched) return undefined
    if (!keepable) return { gen: next, kept: false }
    const after = await call('revokeSessions', () => store.get(ownerRecordKey))
    return { gen: next, kept: after !== undefined && generationOf(after) === next }
  }

  return {
    mintSid() {
      const bytes = randomBytes(COOKIE_SESSION_ID_BYTES)
      const sid = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(
        'base64url',
      )
      if (!COOKIE_SESSION_ID.test(sid)) {
        throw new ConfigError(
          'revocation.randomBytes',
          `expected ${COOKIE_SESSION_ID_BYTES} bytes.`,
        )
      }
      return sid
    },
    isSid(value): value is string {
      return typeof value === 'string' && COOKIE_SESSION_ID.test(value)
    },
    async check(identity) {
      if (identity.owner === undefined) {
        const marker = await call('load', () => store.get(markerKey(identity.sid)))
        return marker === undefined
          ? { revoked: false, stale: [], revokedCount: 0 }
          : { revoked: true }
      }
      const record = await call('load', () => store.get(ownerKey(identity.owner!)))
      // No record: it expired or was lost, and with it any revocation it held. Fail closed.
      if (record === undefined || generationOf(record) !== identity.gen) return { revoked: true }
      if (Object.hasOwn(record.system, REVOKED_PREFIX + identity.sid)) return { revoked: true }
      const time = now()
      const stale: string[] = []
      let revokedCount = 0
      for (const field of Object.keys(record.system)) {
        if (!field.startsWith(REVOKED_PREFIX)) continue
        const until = record.system[field]
        if (typeof until !== 'number' || until <= time) stale.push(field)
        else revokedCount++
      }
      return { revoked: false, stale, revokedCount }
    },
    async revoke(identity, stale) {
      const time = now()
      const until = identity.created + lifetimeMs + CLOCK_MARGIN_MS
      if (until <= time) return
      if (identity.owner === undefined) {
        if (!identity.holdsData) return
        const marker: StoredSession = {
          data: {},
          system: {},
          created: identity.created,
          lastActive: time,
          expires: until,
        }
        await call('commit', () => store.set(markerKey(identity.sid), marker))
        return
      }
      const deleted = new Set(stale)
      deleted.delete(REVOKED_PREFIX + identity.sid)
      // false: the owner record is gone, and an owned cookie without one is refused anyway.
      await call('commit', () =>
        store.patch(ownerKey(identity.owner!), {
          data: NO_CHANGES,
          system: { set: new Map([[REVOKED_PREFIX + identity.sid, until]]), deleted },
          lastActive: time,
          expires: outliving(time),
        }),
      )
    },
    async generation(owner, created) {
      const time = now()
      const ownerRecordKey = ownerKey(owner)
      const record = await call('commit', () => store.get(ownerRecordKey))
      const gen = record === undefined ? undefined : generationOf(record)
      if (record === undefined || gen === undefined) return createOwnerRecord(owner, time)
      if (record.expires >= created + lifetimeMs + CLOCK_MARGIN_MS) return gen
      const touched = await call('commit', () => store.touch(ownerRecordKey, time, outliving(time)))
      return touched ? gen : createOwnerRecord(owner, time)
    },
    bump,
  }
}

/** The `revocation` option of the signed and encrypted cookie factories. */
export interface RevocableCookieOptions {
  /**
   * Makes sessions revocable on the server: each cookie carries a random session id (and, once
   * the session has an owner, the owner's generation), checked against `revocation.store` on
   * every request that brings a cookie. `session.invalidate()` and `session.regenerate()` then
   * end the old cookie for good (one without an owner that held no user data is not recorded:
   * replayed, it is an empty anonymous session), and the factory gets `revokeSessions(owner)`
   * ("log out everywhere"). Costs one store read per request with a cookie, and a write per
   * logout and per login.
   *
   * > [!WARNING]
   * > Turning it on ends the cookie sessions issued without it (`onInvalidCookie('revoked')`). With
   * > `absoluteTimeout: null`, sessions end after 400 days at the latest. An unavailable store
   * > fails the request (503), never accepts a cookie it cannot check.
   * @defaultValue undefined (a copied cookie works until it expires)
   */
  readonly revocation?: CookieRevocationOptions | undefined
}
