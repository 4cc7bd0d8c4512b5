import type { JsonValue } from '../session/serializer.js'

/**
 * One stored session, as a store keeps it. Values are already encoded by the factory's
 * serializer; stores only move JSON around.
 */
export interface StoredSession {
  /** User data: key → encoded value. */
  readonly data: Readonly<Record<string, JsonValue>>
  /** Library-owned fields (CSRF token, flash queues): kept apart so they never collide with data. */
  readonly system: Readonly<Record<string, JsonValue>>
  /** When the session began, in milliseconds since the epoch. */
  readonly created: number
  /** When the session was last written or touched, in milliseconds since the epoch. */
  readonly lastActive: number
  /**
   * When the record expires, in milliseconds since the epoch: the first instant it is no longer
   * valid (a record is expired once `expires <= now`). The factory sets it one millisecond after
   * the earlier of the idle and the absolute deadline, since a session is still valid at the
   * deadline itself. Stores with native expiry set it from this; the factory also checks it on
   * read, so a store that cannot expire records natively stays correct.
   */
  readonly expires: number
  /** The user the session belongs to, when `session.setOwner()` was called. */
  readonly owner?: string | undefined
}

/** The changes one request made to one namespace (data or system) of a stored session. */
export interface StoredNamespacePatch {
  /** Keys written, with their encoded values. */
  readonly set: ReadonlyMap<string, JsonValue>
  /** Keys removed. */
  readonly deleted: ReadonlySet<string>
}

/**
 * A field-level update of a stored session: only what this request changed. Applying two patches
 * that change different keys, in either order, keeps both changes.
 */
export interface SessionPatch {
  readonly data: StoredNamespacePatch
  readonly system: StoredNamespacePatch
  /** The new last-activity time. */
  readonly lastActive: number
  /** The new expiry time. */
  readonly expires: number
  /** A new owner, when it changed (`null` removes it). */
  readonly owner?: string | null
}

/** A session in an owner's list; see {@link SessionStore.listByOwner}. */
export interface StoredSessionSummary {
  /** The record key: SHA-256 of the session id, base64url. Never the id itself. */
  readonly idHash: string
  /** When the session began, in milliseconds since the epoch. */
  readonly created: number
  /** When the session was last active, in milliseconds since the epoch. */
  readonly lastActive: number
  /** When the record expires, in milliseconds since the epoch. */
  readonly expires: number
}

/** Options of {@link SessionStore.prune}. */
export interface PruneOptions {
  /**
   * How many expired records to delete per statement (the file store: how many files to examine
   * between two `onProgress` calls). Smaller batches hold locks for less time.
   * @defaultValue 1000 (PostgreSQL: the store's `pruneBatchSize`; the file store: 100)
   */
  readonly batchSize?: number
  /**
   * Told after each batch with how many records have been deleted so far; `npx cloakroom prune`
   * draws its progress line from it.
   * @defaultValue none
   */
  readonly onProgress?: (deleted: number) => void
}

/** What {@link SessionStore.stats} reports about the records of a store. */
export interface StoreStats {
  /** Live sessions: stored and not expired. */
  readonly live: number
  /**
   * Records that are expired (the file store: or unusable) and still stored, waiting for
   * `prune()`. Usually 0 for a store with native expiry.
   */
  readonly expired: number
  /** When the oldest live session began (`created`, ms since the epoch); null when none is live. */
  readonly oldestCreated: number | null
  /**
   * The size of the largest live session: the bytes of its user data and library fields as JSON
   * text (PostgreSQL: jsonb's text form, which adds a space after each `:` and `,`). Null when
   * none is live.
   */
  readonly largestBytes: number | null
}

/**
 * Where server-side sessions live. Every method is keyed by `idHash`, the SHA-256 of the session
 * id (base64url): a store never sees a usable cookie value.
 *
 * @remarks
 * The contract, checked by `runStoreSuite` from `cloakroom/testing`:
 * - `get` returns `undefined` for a missing or expired record (it may delete the expired one).
 * - `set` replaces the whole record; with `onlyIfExists` it writes nothing and returns `false`
 *   when the record is gone (so a slow request never resurrects a session another one deleted).
 * - `patch` applies a field-level change atomically and returns `false`, writing nothing, when the
 *   record is gone. Concurrent patches of different keys must all survive.
 * - `touch` moves `lastActive`/`expires` without rewriting data; `false` when the record is gone.
 * - Keys and strings come back exactly as given, whatever they hold: U+0000 and unpaired
 *   surrogates included (a backend that cannot hold them escapes them, as PostgreSQL and Redis do).
 * - `prune`, where there is one, deletes every expired record that `stats` counts.
 * - Errors from the backend are thrown as {@link StoreUnavailableError} with the cause attached.
 *
 * What a store can do beyond the required operations is told by the optional methods it has,
 * not by separate flags: `prune` (expired records to delete, which a store with native expiry
 * such as Redis has no need for), `stats` (counts for operators) and `close` (connections or
 * timers of its own). Callers test for the method (`store.prune?.()`); `runStoreSuite` checks
 * each one a store has.
 */
export interface SessionStore {
  /**
   * @param idHash the record key
   * @returns the record, or undefined when it is missing, expired, or stored in a form the store
   *   cannot read (changed by hand): that is no session, not a failure
   */
  get(idHash: string): Promise<StoredSession | undefined>
  /**
   * @param idHash the record key
   * @param record the whole record
   * @param options how to write
   * @param options.onlyIfExists write only when a record is already stored under `idHash`
   * @returns whether the record was written
   */
  set(
    idHash: string,
    record: StoredSession,
    options?: { readonly onlyIfExists?: boolean },
  ): Promise<boolean>
  /**
   * @param idHash the record key
   * @param patch the changes to apply
   * @returns whether a record was there to patch
   */
  patch(idHash: string, patch: SessionPatch): Promise<boolean>
  /**
   * @param idHash the record key
   * @param lastActive the new last-activity time
   * @param expires the new expiry time
   * @returns whether a record was there to touch
   */
  touch(idHash: string, lastActive: number, expires: number): Promise<boolean>
  /**
   * @param idHash the record key; deleting a missing record is not an error
   */
  delete(idHash: string): Promise<void>
  /**
   * @param owner the owner passed to `session.setOwner()`
   * @returns the owner's live sessions
   */
  listByOwner(owner: string): Promise<StoredSessionSummary[]>
  /**
   * @param owner the owner
   * @param exceptIdHash a session to keep (the current one, for "log out other devices")
   * @returns how many sessions were deleted
   */
  deleteByOwner(owner: string, exceptIdHash?: string): Promise<number>
  /**
   * Deletes expired records (stores with native expiry may do nothing).
   * @param options the batch size and a progress callback; stores may ignore them
   * @returns how many records were deleted
   */
  prune?(options?: PruneOptions): Promise<number>
  /**
   * Counts the records without changing them, for `npx cloakroom stats`. Optional: it reads
   * every record (or an index), so it is meant for operators, not for the request path.
   * @returns the counts, the oldest live session and the largest one
   */
  stats?(): Promise<StoreStats>
  /** Releases connections and timers the store opened itself. */
  close?(): Promise<void>
}
