import { createHash, randomBytes as cryptoRandomBytes } from 'node:crypto'
import { CloakroomError, ConfigError, StoreUnavailableError } from '../errors.js'
import { EXPIRED_LIFETIME, formatLifetime, readCookie } from '../http/cookies.js'
import type { NamespaceChanges } from '../session/change-tracking.js'
import type { JsonValue } from '../session/serializer.js'
import {
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
import { resolveCookieOptions, type SessionCookieOptions } from './options.js'
import type { CommitOptions, SessionFactory } from './session-factory.js'

/** The shape of a session id in a cookie: 32 random bytes, base64url, no padding. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/
/** The number of random bytes in a session id. */
export const SESSION_ID_BYTES = 32
/** The default `storeTimeout`, in milliseconds. */
export const DEFAULT_STORE_TIMEOUT_MS = 2000
/** How long a record lives without activity when both timeouts are off and no `maxAge` is set. */
const FALLBACK_LIFETIME_MS = 400 * 24 * 60 * 60 * 1000

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
   * @defaultValue `randomBytes` from `node:crypto`
   */
  readonly randomBytes?: (size: number) => Uint8Array
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

/** What the factory remembers about a session it loaded or saved, kept beside it in a WeakMap. */
interface StoredState {
  /** The id in the cookie, once the session has one. */
  id: string
  /** SHA-256 of the id, the record key. */
  idHash: string
  /** Last-activity time of the record as loaded. */
  lastActive: number
}

const NO_CHANGES: StoredNamespacePatch = { set: new Map(), deleted: new Set() }

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('base64url')
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
 *   `touch` of the expiry once `reissueTime` has passed.
 * - Commits are patches of the keys the request changed, so concurrent requests that change
 *   different keys all keep their changes; on the same key the last writer wins. `clear()`,
 *   `changed()`, `invalidate()` and `regenerate()` write the whole record.
 * - A request never resurrects a session another request ended: when the record is gone at
 *   commit, nothing is written and no cookie is sent.
 * - Idle and absolute timeouts are enforced from the record's own times on every read.
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
  const randomBytes = options.randomBytes ?? cryptoRandomBytes
  if (typeof randomBytes !== 'function')
    throw new ConfigError('randomBytes', 'expected a function.')

  const context: SessionContext = { serializer, now }
  const stored = new WeakMap<Session<Data>, StoredState>()
  const degraded = new WeakSet<Session<Data>>()
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

  /** The earlier of the idle and absolute deadlines of a session. */
  const expiresAt = (created: number, lastActive: number): number => {
    const idle = timeoutMs === null ? Infinity : lastActive + timeoutMs
    const absolute = absoluteTimeoutMs === null ? Infinity : created + absoluteTimeoutMs
    const deadline = Math.min(idle, absolute)
    return deadline === Infinity ? lastActive + fallbackLifetimeMs : deadline
  }
  /** Expiry from the record's own times, under the current timeouts, whatever the store says. */
  const isExpired = (record: StoredSessionSummary | StoredSession, time: number): boolean =>
    time >= record.expires ||
    (timeoutMs !== null && time - record.lastActive > timeoutMs) ||
    (absoluteTimeoutMs !== null && time - record.created > absoluteTimeoutMs)

  /** Runs one store call within `storeTimeout`, turning every failure into StoreUnavailableError. */
  const call = <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`The session store did not answer within ${storeTimeoutMs} ms.`))
      }, storeTimeoutMs)
    })
    // An async wrapper turns a synchronous throw from a store into a rejection.
    const pending = (async () => run())()
    return Promise.race([pending, timeout]).then(
      (value) => {
        clearTimeout(timer)
        return value
      },
      (error: unknown) => {
        clearTimeout(timer)
        // Our own errors (a value that cannot be stored, a store's StoreUnavailableError) pass.
        if (error instanceof CloakroomError) throw error
        throw new StoreUnavailableError(operation, { cause: error })
      },
    )
  }

  const policyFor = (error: unknown, operation: StoreOperation): StoreErrorPolicy => {
    if (!(error instanceof StoreUnavailableError)) return 'fail'
    return typeof onStoreError === 'function' ? onStoreError(error, operation) : onStoreError
  }

  const fresh = (): Session<Data> =>
    new Session<Data>(() => ({ created: now(), isNew: true }), context)

  const decode = (values: Readonly<Record<string, JsonValue>>): [string, unknown][] =>
    Object.keys(values).map((key) => [key, serializer.decode(values[key]!)])

  const loadStored = async (id: string): Promise<Session<Data>> => {
    const idHash = hashId(id)
    const record = await call('load', () => store.get(idHash))
    if (record === undefined) {
      resolved.onInvalidCookie?.('unknown-key', { cookieName })
      return fresh()
    }
    const time = now()
    if (isExpired(record, time)) {
      resolved.onInvalidCookie?.('expired', { cookieName })
      // The record is dead either way; a failed delete only leaves it to the store's own expiry.
      await call('load', () => store.delete(idHash)).catch(() => undefined)
      return fresh()
    }
    let init: SessionInit
    try {
      init = {
        data: decode(record.data),
        system: decode(record.system),
        created: record.created,
        isNew: false,
      }
    } catch {
      resolved.onInvalidCookie?.('malformed', { cookieName })
      return fresh()
    }
    const session = new Session<Data>(init, context)
    stored.set(session, { id, idHash, lastActive: record.lastActive })
    return session
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
    stored.set(session, { id, idHash, lastActive: time })
    return cookieFor(id, time)
  }

  const save = async (
    session: Session<Data>,
    view: SessionCommitView,
  ): Promise<readonly string[]> => {
    const state = stored.get(session)
    const time = now()
    const isEmpty = view.isEmpty()

    if (state === undefined || view.invalidated) {
      if (state !== undefined) {
        await store.delete(state.idHash)
        stored.delete(session)
      }
      if (isEmpty) return view.invalidated ? [deletion] : []
      return [await createRecord(session, view, time)]
    }

    const dataChanges = view.dataChanges()
    const systemChanges = view.systemChanges()
    const changed = view.forced || dataChanges !== undefined || systemChanges !== undefined
    const sliding = (): readonly string[] =>
      maxAge === undefined ? [] : [cookieFor(state.id, time)]

    if (isEmpty && (changed || view.regenerated)) {
      // An emptied session leaves neither a record nor a cookie behind.
      await store.delete(state.idHash)
      stored.delete(session)
      return [deletion]
    }
    if (view.regenerated) {
      const cookie = await createRecord(session, view, time)
      await store.delete(state.idHash)
      return [cookie]
    }
    if (view.forced || dataChanges?.cleared === true || systemChanges?.cleared === true) {
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
    if (reissueMs !== null && (reissueMs === 0 || time - state.lastActive > reissueMs)) {
      const touched = await store.touch(state.idHash, time, expiresAt(view.created, time))
      return touched ? sliding() : []
    }
    return []
  }

  return {
    cookieName,
    load(cookieHeader) {
      const value = readCookie(cookieHeader, cookieName)
      if (value === undefined) return fresh()
      if (!SESSION_ID.test(value)) {
        resolved.onInvalidCookie?.('malformed', { cookieName })
        return fresh()
      }
      return loadStored(value).catch((error: unknown) => {
        if (policyFor(error, 'load') === 'fail') throw error
        const session = fresh()
        degraded.add(session)
        return session
      })
    },
    commit(session, commitOptions?: CommitOptions) {
      const view = sessionChanges(session)
      view.lock()
      if (!view.accessed) return []
      // A degraded session saves nothing, but a logout still removes the cookie from the browser.
      if (degraded.has(session)) return view.invalidated ? [deletion] : []
      if (commitOptions?.failed === true && !resolved.setOnException) return []
      return call('commit', () => save(session, view)).catch(
        (error: unknown): readonly string[] => {
          if (policyFor(error, 'commit') === 'fail') throw error
          return []
        },
      )
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
        revokeOptions?.except === undefined ? undefined : stored.get(revokeOptions.except)?.idHash
      return call('revokeSessions', () => store.deleteByOwner(owner, except))
    },
    idHashOf(session) {
      return stored.get(session)?.idHash
    },
  }
}
