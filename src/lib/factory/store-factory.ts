import { createStoreCaller, type CallDeadline } from '../store/store-call.js'
import { isNamespace } from '../store/stored-record.js'
import { hash } from 'node:crypto'
import { pooledRandomBytes } from '../codec/random-pool.js'
import { ConfigError, StoreUnavailableError } from '../errors.js'
import {
  EXPIRED_LIFETIME,
  formatCookieAttributes,
  formatLifetime,
  readCookie,
} from '../http/cookies.js'
import type { NamespaceChanges } from '../session/change-tracking.js'
import { decodeAll } from '../session/serializer.js'
import {
  checkOwner,
  OWNER_FIELD,
  Session,
  sessionChanges,
  type DefaultSessionData,
  type SessionCommitView,
  type SessionContext,
  type SessionInit,
} from '../session/session.js'
import type {
  SessionPatch,
  SessionStore,
  StoredNamespacePatch,
  StoredSession,
  StoredSessionSummary,
} from '../store/session-store.js'
import type { SessionAdopter } from '../store/session-adopter.js'
import {
  MAX_COOKIE_LIFETIME_SECONDS,
  resolveCookieOptions,
  type ResolvedCookieOptions,
  type SessionCookieOptions,
} from './options.js'
import type { CommitOptions, SessionFactory } from './session-factory.js'

/** The shape of a session id in a cookie: 32 random bytes, base64url, no padding. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/
/** The number of random bytes in a session id. */
export const SESSION_ID_BYTES = 32
/** The default `storeTimeout`, in milliseconds. */
export const DEFAULT_STORE_TIMEOUT_MS = 2000
/** How long a record lives without activity when both timeouts are off and no `maxAge` is set. */
const FALLBACK_LIFETIME_MS = MAX_COOKIE_LIFETIME_SECONDS * 1000

/**
 * What to do when the store fails or does not answer within `storeTimeout`:
 * - `'fail'`: throw {@link StoreUnavailableError}; the adapters answer 503.
 * - `'fresh-session'`: serve the request with an empty, read-only session. Nothing the handler
 *   writes is saved and no cookie is sent, so the stored session is intact once the store is back
 *   (`invalidate()` still sends the deletion cookie). At commit, the request's changes are dropped
 *   and the response goes out without a cookie.
 */
export type StoreErrorPolicy = 'fail' | 'fresh-session'

/** The step that failed, passed to an `onStoreError` function. */
export type StoreOperation = 'load' | 'commit'

/** Options of {@link createStoreFactory}. */
export interface StoreFactoryOptions extends SessionCookieOptions {
  /**
   * Where sessions live: `createMemoryStore()`, `cloakroom/file`, `cloakroom/sqlite`,
   * `cloakroom/redis`, `cloakroom/postgres`, or your own {@link SessionStore}.
   */
  readonly store: SessionStore
  /**
   * How long one store call may take, in milliseconds, before the request fails with
   * {@link StoreUnavailableError}. Keeps a hung store from hanging every request.
   * @defaultValue 2000
   */
  readonly storeTimeout?: number
  /**
   * What to do when the store is down or slow: a {@link StoreErrorPolicy}, or a function that
   * receives the error (log it there) and returns one.
   *
   * > [!WARNING]
   * > `'fresh-session'` serves users as logged out while the store is down. It never overwrites
   * > their stored session, but pages that require a session must cope with an empty one.
   * @defaultValue `'fail'`
   */
  readonly onStoreError?:
    | StoreErrorPolicy
    | ((error: StoreUnavailableError, operation: StoreOperation) => StoreErrorPolicy)
  /**
   * The source of session ids. Inject one in tests; never replace it in production.
   * @defaultValue `randomBytes` from `node:crypto`, drawn in blocks
   */
  readonly randomBytes?: (size: number) => Uint8Array
  /**
   * Takes over sessions of the library used before Cloakroom, such as
   * `adoptExpressSessions({ store, secret })`, so users stay logged in across the switch.
   *
   * @remarks
   * Consulted only when a request brings no valid Cloakroom session and sends one of the
   * adopter's cookies. The adopted data becomes the session's data (`isNew` is false, and
   * `created` is the time of adoption, so the absolute timeout starts afresh). At commit, the
   * session is saved as a new session under a new id, the same response deletes the legacy
   * cookies, and the adopter's `forget` removes the legacy record. `invalidate()` on an adopted
   * session forgets the legacy record too.
   *
   * > [!WARNING]
   * > The adopter must refuse every cookie it cannot authenticate; see {@link SessionAdopter}.
   * @defaultValue undefined
   */
  readonly adopt?: SessionAdopter | undefined
}

/** Options of {@link StoreSessionFactory.revokeSessions}. */
export interface RevokeSessionsOptions<Data extends object = DefaultSessionData> {
  /** A session to keep, usually the current request's ("log out other devices"). */
  readonly except?: Session<Data>
}

/**
 * A {@link SessionFactory} whose sessions live in a {@link SessionStore}, plus the user-level
 * controls a store makes possible.
 */
export interface StoreSessionFactory<
  Data extends object = DefaultSessionData,
> extends SessionFactory<Data> {
  /**
   * Lists the live sessions of a user (the owner given to `session.setOwner()`), most recently
   * active first: for an "active devices" page.
   *
   * @param owner the user's id
   * @returns the sessions, keyed by the hash of their id (never a usable id)
   * @throws {@link StoreUnavailableError} when the store cannot be reached
   */
  listSessions(owner: string): Promise<StoredSessionSummary[]>
  /**
   * Ends every session of a user, or every other one with `except` ("log out other devices").
   * The sessions are deleted from the store, so their cookies stop working at once.
   *
   * @param owner the user's id
   * @param options the session to keep
   * @returns how many sessions were ended
   * @throws {@link StoreUnavailableError} when the store cannot be reached
   */
  revokeSessions(owner: string, options?: RevokeSessionsOptions<Data>): Promise<number>
  /**
   * @param session a session from this factory
   * @returns the hash of its id, as listed by `listSessions`, or undefined while it has no id
   */
  idHashOf(session: Session<Data>): string | undefined
}

/** What the factory remembers about a session it loaded or saved. */
interface StoredState {
  /** The id in the cookie, once the session has one. */
  id: string
  /** SHA-256 of the id, the record key. */
  idHash: string
  /** Last-activity time of the record as loaded. */
  lastActive: number
}

/**
 * What rides on each session this factory makes (its `factoryState`): no side tables, whose
 * weak entries cost a full garbage collection to clear.
 */
interface SessionSlot {
  /** The stored record's id, once the session has one. */
  stored?: StoredState | undefined
  /** Loaded while the store was down under the 'fresh-session' policy: never saved. */
  degraded?: boolean
  /** Adopted from a legacy session: the legacy cookies it came from (for `forget`). */
  adopted?: Readonly<Record<string, string>> | undefined
}

const NO_CHANGES: StoredNamespacePatch = { set: new Map(), deleted: new Set() }

function hashId(id: string): string {
  // The one-shot `hash` allocates no Hash object: a third of createHash's cost.
  return hash('sha256', id, 'base64url')
}

/**
 * The `Set-Cookie` values that delete an adopter's legacy cookies, built once at construction.
 *
 * @param adopter the adopter
 * @param resolved the factory's cookie options (the deletion is `Secure` when they are)
 * @returns one deletion per legacy cookie
 * @throws {@link ConfigError} when the adopter is not one, or a legacy name or path is invalid
 */
function legacyCookieDeletions(
  adopter: SessionAdopter,
  resolved: ResolvedCookieOptions,
): readonly string[] {
  if (
    typeof adopter?.load !== 'function' ||
    !Array.isArray(adopter.cookieNames) ||
    adopter.cookieNames.length === 0 ||
    (adopter.forget !== undefined && typeof adopter.forget !== 'function')
  ) {
    throw new ConfigError('adopt', 'expected a SessionAdopter: cookieNames, load() and forget().')
  }
  const path = adopter.cookiePath ?? '/'
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new ConfigError('adopt.cookiePath', 'a path starts with "/".')
  }
  return adopter.cookieNames.map((name: unknown, index) => {
    if (typeof name !== 'string' || name === '') {
      throw new ConfigError(`adopt.cookieNames[${index}]`, 'expected a cookie name.')
    }
    if (name === resolved.cookieName) {
      throw new ConfigError(
        `adopt.cookieNames[${index}]`,
        'a legacy cookie cannot share the name of the Cloakroom cookie; give cookieName another name.',
      )
    }
    try {
      return `${name}=${EXPIRED_LIFETIME}${formatCookieAttributes(name, {
        path,
        domain: adopter.cookieDomain,
        secure: resolved.attributes.secure,
        httpOnly: true,
        sameSite: 'lax',
      })}`
    } catch (error) {
      throw new ConfigError(`adopt.cookieNames[${index}]`, (error as Error).message)
    }
  })
}

function toPatch(changes: NamespaceChanges | undefined): StoredNamespacePatch {
  return changes === undefined ? NO_CHANGES : { set: changes.set, deleted: changes.deleted }
}

/**
 * Creates a session factory that keeps sessions on the server: the cookie carries only a random
 * id, and the data lives in `store`.
 *
 * @remarks
 * - Ids are 32 random bytes (base64url). A cookie of any other shape is refused before the store
 *   is asked, and records are keyed by SHA-256 of the id, so the store never holds a usable id.
 * - Strict: an id whose record is missing or expired is never adopted; the request gets a fresh
 *   session, and a new id is minted only when the handler writes. Reading never creates a record.
 * - Loading costs one store read. A request that only reads writes nothing, except a cheap
 *   `touch` of the expiry once `reissueTime` has passed. With the built-in serializers, values
 *   are decoded only when read; a custom serializer decodes the whole record at load, so a
 *   record it cannot read gives a fresh session (reported as `malformed`) instead of an error
 *   in the middle of the handler.
 * - Commits are patches of the keys the request changed, so concurrent requests that change
 *   different keys all keep their changes; on the same key the last writer wins. `clear()`,
 *   `changed()`, `invalidate()` and `regenerate()` write the whole record. A session emptied by
 *   `delete()` keeps its record and cookie; one emptied by `clear()` loses both.
 * - A request never resurrects a session another request ended: when the record is gone at
 *   commit, nothing is written and no cookie is sent. `regenerate()` writes the new record, then
 *   checks that the old one still exists, and removes the new one when it does not.
 * - Idle and absolute timeouts are enforced from the record's own times on every read.
 * - With `adopt`, a request that has no valid Cloakroom session but a legacy cookie the adopter
 *   authenticates (express-session's, with `adoptExpressSessions`) keeps its data: it is saved
 *   under a new id and the legacy cookie and record are removed.
 *
 * @param options the store, cookie options and timeouts
 * @returns the factory, with `listSessions` and `revokeSessions`
 * @throws {@link ConfigError} when an option is invalid
 *
 * @example
 * ```ts
 * import { createMemoryStore, createStoreFactory } from 'cloakroom'
 * const factory = createStoreFactory({ store: createMemoryStore() })
 * ```
 */
export function createStoreFactory<Data extends object = DefaultSessionData>(
  options: StoreFactoryOptions,
): StoreSessionFactory<Data> {
  const resolved = resolveCookieOptions(options)
  const { cookieName, now, serializer, timeoutMs, reissueMs, absoluteTimeoutMs, maxAge } = resolved
  const store = options.store
  for (const method of [
    'get',
    'set',
    'patch',
    'touch',
    'delete',
    'listByOwner',
    'deleteByOwner',
  ] as const) {
    if (typeof store?.[method] !== 'function') {
      throw new ConfigError('store', `expected a SessionStore; ${method}() is missing.`)
    }
  }
  const storeTimeoutMs = options.storeTimeout ?? DEFAULT_STORE_TIMEOUT_MS
  if (!Number.isFinite(storeTimeoutMs) || storeTimeoutMs <= 0) {
    throw new ConfigError('storeTimeout', 'expected a number of milliseconds > 0.')
  }
  const onStoreError = options.onStoreError ?? 'fail'
  if (
    typeof onStoreError !== 'function' &&
    onStoreError !== 'fail' &&
    onStoreError !== 'fresh-session'
  ) {
    throw new ConfigError('onStoreError', "expected 'fail', 'fresh-session' or a function.")
  }
  const randomBytes = options.randomBytes ?? pooledRandomBytes
  if (typeof randomBytes !== 'function')
    throw new ConfigError('randomBytes', 'expected a function.')
  const adopter = options.adopt
  const legacyDeletions = adopter === undefined ? [] : legacyCookieDeletions(adopter, resolved)

  const context: SessionContext = { serializer, now }
  /** The slot of a session this factory made (an empty one for any other session). */
  const slotOf = (session: Session<Data>): SessionSlot =>
    (sessionChanges(session).factoryState as SessionSlot | undefined) ?? {}
  const deletion = `${cookieName}=${EXPIRED_LIFETIME}${resolved.attributeString}`
  const fallbackLifetimeMs = maxAge === undefined ? FALLBACK_LIFETIME_MS : maxAge * 1000

  const mintId = (): string => {
    const bytes = randomBytes(SESSION_ID_BYTES)
    const id = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
    if (!SESSION_ID.test(id))
      throw new ConfigError('randomBytes', `expected ${SESSION_ID_BYTES} bytes.`)
    return id
  }
  const cookieFor = (id: string, time: number): string =>
    `${cookieName}=${id}${formatLifetime(maxAge, time)}${resolved.attributeString}`

  /**
   * A record's `expires`: one millisecond past the earlier of the idle and absolute deadlines,
   * since a session is still valid at the deadline itself and stores expire at `expires`.
   */
  const expiresAt = (created: number, lastActive: number): number => {
    const idle = timeoutMs === null ? Infinity : lastActive + timeoutMs
    const absolute = absoluteTimeoutMs === null ? Infinity : created + absoluteTimeoutMs
    const deadline = Math.min(idle, absolute)
    return (deadline === Infinity ? lastActive + fallbackLifetimeMs : deadline) + 1
  }
  /** Expiry from the record's own times, under the current timeouts, whatever the store says. */
  const isExpired = (record: StoredSessionSummary | StoredSession, time: number): boolean =>
    time >= record.expires ||
    (timeoutMs !== null && time - record.lastActive > timeoutMs) ||
    (absoluteTimeoutMs !== null && time - record.created > absoluteTimeoutMs)

  const call = createStoreCaller(storeTimeoutMs)

  const policyFor = (error: unknown, operation: StoreOperation): StoreErrorPolicy => {
    if (!(error instanceof StoreUnavailableError)) return 'fail'
    return typeof onStoreError === 'function' ? onStoreError(error, operation) : onStoreError
  }

  const fresh = (): Session<Data> =>
    new Session<Data>(() => ({ created: now(), isNew: true }), context, {})

  /** Reads a valid Cloakroom session, or returns undefined when the id names none. */
  const loadStored = async (id: string): Promise<Session<Data> | undefined> => {
    const idHash = hashId(id)
    const record = await call('load', () => store.get(idHash))
    if (record === undefined) {
      resolved.onInvalidCookie?.('unknown-key', { cookieName })
      return undefined
    }
    const time = now()
    if (isExpired(record, time)) {
      resolved.onInvalidCookie?.('expired', { cookieName })
      // The record is dead either way; a failed delete only leaves it to the store's own expiry.
      await call('load', () => store.delete(idHash)).catch(() => undefined)
      return undefined
    }
    let init: SessionInit
    try {
      if (!isNamespace(record.data) || !isNamespace(record.system)) {
        throw new TypeError('not a record')
      }
      // The built-in serializers never fail on JSON: their values stay encoded until read. A
      // custom serializer decodes everything now, so a record it cannot read gives a fresh
      // session instead of an error in the middle of the handler.
      init = resolved.decodesLazily
        ? {
            encodedData: record.data,
            encodedSystem: record.system,
            created: record.created,
            isNew: false,
          }
        : {
            data: decodeAll(serializer, record.data),
            system: decodeAll(serializer, record.system),
            created: record.created,
            isNew: false,
          }
    } catch {
      resolved.onInvalidCookie?.('malformed', { cookieName })
      return undefined
    }
    const slot: SessionSlot = { stored: { id, idHash, lastActive: record.lastActive } }
    return new Session<Data>(init, context, slot)
  }

  /** The legacy cookies of the adopter that the request sent, or undefined when there are none. */
  const legacyCookiesOf = (
    cookieHeader: string | null | undefined,
  ): Readonly<Record<string, string>> | undefined => {
    if (adopter === undefined) return undefined
    let found: Record<string, string> | undefined
    for (const name of adopter.cookieNames) {
      const value = readCookie(cookieHeader, name)
      if (value === undefined) continue
      found ??= Object.create(null) as Record<string, string>
      found[name] = value
    }
    return found
  }

  /** Takes over a legacy session; returns undefined when the adopter refuses the cookies. */
  const adoptLegacy = async (
    adopter: SessionAdopter,
    cookies: Readonly<Record<string, string>>,
  ): Promise<Session<Data> | undefined> => {
    const legacy = await call('load', () => adopter.load(cookies))
    if (legacy === undefined) return undefined
    const data: [string, unknown][] = []
    const owner = legacy.owner
    try {
      // An owner stores cannot index would fail every commit, as would values the serializer
      // cannot store: refuse the session instead.
      if (typeof owner === 'string') checkOwner(owner)
      for (const key of Object.keys(legacy.data)) {
        const value = legacy.data[key]
        serializer.encode(value, key)
        data.push([key, value])
      }
    } catch {
      resolved.onInvalidCookie?.('malformed', { cookieName: adopter.cookieNames[0] ?? cookieName })
      return undefined
    }
    const session = new Session<Data>(
      {
        data,
        system: typeof owner === 'string' ? [[OWNER_FIELD, owner]] : [],
        created: now(),
        isNew: false,
      },
      context,
      { adopted: cookies } satisfies SessionSlot,
    )
    return session
  }

  /**
   * The session for a request without a valid Cloakroom session: an adopted legacy session when
   * the adopter accepts the request's legacy cookies, else a fresh one (synchronously when there
   * is nothing to adopt).
   */
  const adoptOrFresh = (
    cookieHeader: string | null | undefined,
  ): Session<Data> | Promise<Session<Data>> => {
    const cookies = legacyCookiesOf(cookieHeader)
    if (adopter === undefined || cookies === undefined) return fresh()
    return adoptLegacy(adopter, cookies).then((session) => session ?? fresh())
  }

  const wholeRecord = (view: SessionCommitView, created: number, time: number): StoredSession => {
    const system = view.encodeSystem()
    const owner = view.readSystem(OWNER_FIELD)
    return {
      data: view.encodeData(),
      system,
      created,
      lastActive: time,
      expires: expiresAt(created, time),
      ...(typeof owner === 'string' ? { owner } : {}),
    }
  }

  /** Saves a session that has no record yet under a new id. */
  const createRecord = async (
    session: Session<Data>,
    view: SessionCommitView,
    time: number,
  ): Promise<string> => {
    const id = mintId()
    const idHash = hashId(id)
    await store.set(idHash, wholeRecord(view, view.created, time))
    slotOf(session).stored = { id, idHash, lastActive: time }
    return cookieFor(id, time)
  }

  /** Whether a session last active at `lastActive` is due a `touch` of its expiry at `time`. */
  const touchDue = (lastActive: number, time: number): boolean =>
    reissueMs !== null && (reissueMs === 0 || time - lastActive > reissueMs)

  /**
   * Whether a commit would make no store call and send no cookie (what {@link save} decides for a
   * request that changed nothing and whose expiry needs no touch yet), worked out without one.
   */
  const nothingToSave = (slot: SessionSlot, view: SessionCommitView): boolean => {
    if (view.invalidated) return false
    const state = slot.stored
    if (state === undefined) return view.isEmpty()
    if (view.hasChanges()) return false
    return !touchDue(state.lastActive, now())
  }

  const save = async (
    session: Session<Data>,
    view: SessionCommitView,
    deadline: CallDeadline,
  ): Promise<readonly string[]> => {
    const slot = slotOf(session)
    const state = slot.stored
    const time = now()
    const isEmpty = view.isEmpty()

    if (state === undefined || view.invalidated) {
      if (state !== undefined) {
        await store.delete(state.idHash)
        slot.stored = undefined
      }
      if (isEmpty) return view.invalidated ? [deletion] : []
      return [await createRecord(session, view, time)]
    }

    const dataChanges = view.dataChanges()
    const systemChanges = view.systemChanges()
    const changed = view.forced || dataChanges !== undefined || systemChanges !== undefined
    const sliding = (): readonly string[] =>
      maxAge === undefined ? [] : [cookieFor(state.id, time)]

    const whole = view.forced || dataChanges?.cleared === true || systemChanges?.cleared === true
    if (isEmpty && (whole || view.regenerated)) {
      // Emptied as a whole (clear(), changed(), regenerate()): neither a record nor a cookie is
      // left. A session emptied key by key is patched like any other change instead: a parallel
      // request may have added a key this one never saw.
      await store.delete(state.idHash)
      slot.stored = undefined
      return [deletion]
    }
    if (view.regenerated) {
      // The new record first, then the old one is checked: a session another request ended
      // meanwhile (a logout, "log out other devices") must not live on under the new id.
      const cookie = await createRecord(session, view, time)
      const created = slot.stored!
      try {
        // Past the deadline the commit has failed and its cookie is never sent: the old record
        // must stay the session, so it is not deleted.
        if (deadline.expired) throw new StoreUnavailableError('commit')
        if ((await store.get(state.idHash)) === undefined) {
          await store.delete(created.idHash)
          slot.stored = undefined
          return []
        }
        if (deadline.expired) throw new StoreUnavailableError('commit')
        await store.delete(state.idHash)
      } catch (error) {
        // The new record must not linger (as a phantom device in listSessions) until it expires.
        await store.delete(created.idHash).catch(() => undefined)
        slot.stored = state
        throw error
      }
      return [cookie]
    }
    if (whole) {
      const written = await store.set(state.idHash, wholeRecord(view, view.created, time), {
        onlyIfExists: true,
      })
      return written ? sliding() : []
    }
    if (changed) {
      const patch: { -readonly [K in keyof SessionPatch]: SessionPatch[K] } = {
        data: toPatch(dataChanges),
        system: toPatch(systemChanges),
        lastActive: time,
        expires: expiresAt(view.created, time),
      }
      if (
        systemChanges?.set.has(OWNER_FIELD) === true ||
        systemChanges?.deleted.has(OWNER_FIELD) === true
      ) {
        const owner = view.readSystem(OWNER_FIELD)
        patch.owner = typeof owner === 'string' ? owner : null
      }
      // false: another request ended the session meanwhile; it stays ended.
      return (await store.patch(state.idHash, patch)) ? sliding() : []
    }
    if (touchDue(state.lastActive, time)) {
      const touched = await store.touch(state.idHash, time, expiresAt(view.created, time))
      return touched ? sliding() : []
    }
    return []
  }

  return {
    cookieName,
    load(cookieHeader) {
      const value = readCookie(cookieHeader, cookieName)
      let loading: Session<Data> | Promise<Session<Data>>
      if (value === undefined) {
        loading = adoptOrFresh(cookieHeader)
      } else if (!SESSION_ID.test(value)) {
        resolved.onInvalidCookie?.('malformed', { cookieName })
        loading = adoptOrFresh(cookieHeader)
      } else {
        loading = loadStored(value).then((session) => session ?? adoptOrFresh(cookieHeader))
      }
      if (!(loading instanceof Promise)) return loading
      return loading.catch((error: unknown) => {
        if (policyFor(error, 'load') === 'fail') throw error
        const session = fresh()
        slotOf(session).degraded = true
        return session
      })
    },
    commit(session, commitOptions?: CommitOptions) {
      const view = sessionChanges(session)
      view.lock()
      const slot = (view.factoryState as SessionSlot | undefined) ?? {}
      const legacy = slot.adopted
      // An adopted session migrates at its first commit, even when the handler did not use it.
      if (!view.accessed && legacy === undefined) return []
      // A degraded session saves nothing, but a logout still removes the cookie from the browser.
      if (slot.degraded === true) return view.invalidated ? [deletion] : []
      if (commitOptions?.failed === true && !resolved.setOnException) return []
      // Answered at once when there is nothing to save: an adapter holds the response back while
      // a commit is pending, and a read-only request has no store call to wait for.
      if (legacy === undefined && nothingToSave(slot, view)) return []
      return call('commit', async (deadline) => {
        const cookies = await save(session, view, deadline)
        if (legacy === undefined) return cookies
        // The new record is saved first, so a failure here never loses the session.
        await adopter?.forget?.(legacy)
        slot.adopted = undefined
        return [...cookies, ...legacyDeletions]
      }).catch((error: unknown): readonly string[] => {
        if (policyFor(error, 'commit') === 'fail') throw error
        return []
      })
    },
    async listSessions(owner) {
      const time = now()
      const summaries = await call('listSessions', () => store.listByOwner(owner))
      return summaries
        .filter((summary) => !isExpired(summary, time))
        .sort((a, b) => b.lastActive - a.lastActive)
    },
    async revokeSessions(owner, revokeOptions) {
      const except =
        revokeOptions?.except === undefined
          ? undefined
          : slotOf(revokeOptions.except).stored?.idHash
      // Twice: a store that lists the owner's sessions and then deletes them one by one (Redis,
      // files) can miss a session a concurrent regenerate() wrote after the listing, but the
      // regenerate writes it before it checks the old record, so once the first pass is done
      // it is listed, or the regenerate drops it itself.
      return call('revokeSessions', async (deadline) => {
        const first = await store.deleteByOwner(owner, except)
        if (deadline.expired) return first
        return first + (await store.deleteByOwner(owner, except))
      })
    },
    idHashOf(session) {
      return slotOf(session).stored?.idHash
    },
  }
}
