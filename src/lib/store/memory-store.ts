import { ConfigError } from '../errors.js'
import type {
  SessionPatch,
  SessionStore,
  StoredSession,
  StoredSessionSummary,
  StoreStats,
} from './session-store.js'
import { applySessionPatch, StatsTally, stringifyStoredSession } from './stored-record.js'

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The most sessions kept at once. When a new session would exceed it, the least recently used
   * one is dropped (its user is logged out).
   * @defaultValue 10000
   */
  readonly maxEntries?: number
  /**
   * How often expired sessions are removed, in milliseconds; `null` turns the timer off (expired
   * sessions are still never returned, and `prune()` removes them). The timer is `unref()`ed, so
   * it never keeps the process alive.
   * @defaultValue 60000
   */
  readonly sweepIntervalMs?: number | null
  /**
   * The clock, in milliseconds since the epoch.
   * @defaultValue `Date.now`
   */
  readonly now?: () => number
}

/** The in-memory store: a {@link SessionStore} plus its size, `prune()`, `stats()` and `close()`. */
export interface MemoryStore extends SessionStore {
  /** The number of records held, expired ones included until they are swept. */
  readonly size: number
  /** @returns how many expired records were removed */
  prune(): Promise<number>
  /** @returns the live and expired records held, the oldest and the largest (reads every one) */
  stats(): Promise<StoreStats>
  /** Stops the sweep timer. The records stay readable. */
  close(): Promise<void>
}

interface Entry {
  /** The record as JSON text, so that callers never share objects with the store. */
  readonly json: string
  readonly created: number
  readonly lastActive: number
  readonly expires: number
  readonly owner: string | undefined
}

/**
 * Creates a store that keeps sessions in the memory of this process: for development, tests and
 * single-process apps that accept losing every session on restart.
 *
 * @remarks
 * Bounded by `maxEntries` (least recently used first out). Every operation runs synchronously
 * inside one call, so patches are atomic and concurrent patches of different keys all survive.
 * Sessions are indexed by owner for `listSessions` and `revokeSessions`. Not shared between
 * processes: use the SQLite store for several workers on one machine, Redis or PostgreSQL for
 * several machines.
 *
 * @param options the bound, the sweep interval and the clock
 * @returns the store
 * @throws {@link ConfigError} when an option is invalid
 *
 * @example
 * ```ts
 * import { createMemoryStore, createStoreFactory } from 'cloakroom'
 * const factory = createStoreFactory({ store: createMemoryStore({ maxEntries: 1000 }) })
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxEntries = options.maxEntries ?? 10_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new ConfigError('maxEntries', 'expected a whole number of sessions >= 1.')
  }
  const sweepIntervalMs = options.sweepIntervalMs === undefined ? 60_000 : options.sweepIntervalMs
  if (sweepIntervalMs !== null && (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs <= 0)) {
    throw new ConfigError('sweepIntervalMs', 'expected a number of milliseconds > 0, or null.')
  }
  const now = options.now ?? Date.now
  if (typeof now !== 'function')
    throw new ConfigError('now', 'expected a function returning milliseconds.')

  /** Insertion order is recency order: the first entry is the least recently used. */
  const entries = new Map<string, Entry>()
  const byOwner = new Map<string, Set<string>>()

  const unindex = (idHash: string, owner: string | undefined): void => {
    if (owner === undefined) return
    const ids = byOwner.get(owner)
    if (ids === undefined) return
    ids.delete(idHash)
    if (ids.size === 0) byOwner.delete(owner)
  }

  const remove = (idHash: string): boolean => {
    const entry = entries.get(idHash)
    if (entry === undefined) return false
    entries.delete(idHash)
    unindex(idHash, entry.owner)
    return true
  }

  /** @returns the live entry, moved to the most recently used end; expired ones are removed */
  const live = (idHash: string): Entry | undefined => {
    const entry = entries.get(idHash)
    if (entry === undefined) return undefined
    entries.delete(idHash)
    if (entry.expires <= now()) {
      unindex(idHash, entry.owner)
      return undefined
    }
    entries.set(idHash, entry)
    return entry
  }

  const put = (idHash: string, record: StoredSession): void => {
    const previous = entries.get(idHash)
    if (previous !== undefined) remove(idHash)
    entries.set(idHash, {
      json: stringifyStoredSession(record),
      created: record.created,
      lastActive: record.lastActive,
      expires: record.expires,
      owner: record.owner,
    })
    if (record.owner !== undefined) {
      let ids = byOwner.get(record.owner)
      if (ids === undefined) byOwner.set(record.owner, (ids = new Set()))
      ids.add(idHash)
    }
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value as string
      remove(oldest)
    }
  }

  const prune = (): number => {
    const time = now()
    let removed = 0
    for (const [idHash, entry] of entries) {
      if (entry.expires <= time && remove(idHash)) removed++
    }
    return removed
  }

  let timer: ReturnType<typeof setInterval> | undefined
  if (sweepIntervalMs !== null) {
    timer = setInterval(prune, sweepIntervalMs)
    timer.unref()
  }

  const liveOwned = (owner: string): [string, Entry][] => {
    const time = now()
    const out: [string, Entry][] = []
    for (const idHash of byOwner.get(owner) ?? []) {
      const entry = entries.get(idHash)
      if (entry !== undefined && entry.expires > time) out.push([idHash, entry])
    }
    return out
  }

  return {
    get size() {
      return entries.size
    },
    get(idHash) {
      const entry = live(idHash)
      return Promise.resolve(
        entry === undefined ? undefined : (JSON.parse(entry.json) as StoredSession),
      )
    },
    set(idHash, record, setOptions) {
      if (setOptions?.onlyIfExists === true && live(idHash) === undefined)
        return Promise.resolve(false)
      put(idHash, record)
      return Promise.resolve(true)
    },
    patch(idHash, patch: SessionPatch) {
      const entry = live(idHash)
      if (entry === undefined) return Promise.resolve(false)
      put(idHash, applySessionPatch(JSON.parse(entry.json) as StoredSession, patch))
      return Promise.resolve(true)
    },
    touch(idHash, lastActive, expires) {
      const entry = live(idHash)
      if (entry === undefined) return Promise.resolve(false)
      const record = JSON.parse(entry.json) as StoredSession
      put(idHash, { ...record, lastActive, expires })
      return Promise.resolve(true)
    },
    delete(idHash) {
      remove(idHash)
      return Promise.resolve()
    },
    listByOwner(owner) {
      const summaries: StoredSessionSummary[] = liveOwned(owner).map(([idHash, entry]) => ({
        idHash,
        created: entry.created,
        lastActive: entry.lastActive,
        expires: entry.expires,
      }))
      return Promise.resolve(summaries)
    },
    deleteByOwner(owner, exceptIdHash) {
      let removed = 0
      for (const [idHash] of liveOwned(owner)) {
        if (idHash !== exceptIdHash && remove(idHash)) removed++
      }
      // Expired records of the owner go too, without being counted.
      for (const idHash of [...(byOwner.get(owner) ?? [])]) {
        if (idHash !== exceptIdHash) remove(idHash)
      }
      return Promise.resolve(removed)
    },
    prune() {
      return Promise.resolve(prune())
    },
    stats() {
      const tally = new StatsTally(now())
      for (const entry of entries.values()) tally.add(JSON.parse(entry.json) as StoredSession)
      return Promise.resolve(tally.result())
    },
    close() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      return Promise.resolve()
    },
  }
}
