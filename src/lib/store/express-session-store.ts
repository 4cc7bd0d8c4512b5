import { ConfigError, StoreUnavailableError } from '../errors.js'
import { setMember, type JsonValue } from '../session/serializer.js'
import { plainRecord } from './stored-record.js'
import { createStoreCaller, type CallDeadline } from './store-call.js'
import type {
  SessionPatch,
  SessionStore,
  StoredSession,
  StoredSessionSummary,
} from './session-store.js'

/** A callback of the express-session store API. */
export type ExpressSessionCallback = (error?: unknown, result?: unknown) => void

/**
 * The callback API every express-session store implements (`connect-redis`, `connect-pg-simple`,
 * `connect-mongo`, `memorystore`, express-session's own `MemoryStore`...).
 */
export interface ExpressSessionStoreLike {
  /** Reads a session; calls back with `null` or `undefined` when there is none. */
  get(sid: string, callback: ExpressSessionCallback): unknown
  /** Writes a whole session. */
  set(sid: string, session: object, callback: ExpressSessionCallback): unknown
  /** Deletes a session. */
  destroy(sid: string, callback: ExpressSessionCallback): unknown
  /** Lists every session: an array (each with an `id`) or an object keyed by session id. */
  all?(callback: ExpressSessionCallback): unknown
}

/** Options of {@link fromExpressSessionStore}. */
export interface ExpressSessionStoreOptions {
  /**
   * How long one call of the wrapped store may take, in milliseconds, before it fails with
   * {@link StoreUnavailableError}.
   * @defaultValue 2000
   */
  readonly timeoutMs?: number
  /**
   * The clock, in milliseconds since the epoch; use the factory's. Expiry is checked against it.
   * @defaultValue `Date.now`
   */
  readonly now?: () => number
}

/** How a Cloakroom record is kept inside an express-session session object. */
interface Envelope {
  /** What express-session stores read to set their native expiry. */
  cookie: { originalMaxAge: number; expires: string }
  cloakroom: {
    v: 1
    data: Record<string, JsonValue>
    system: Record<string, JsonValue>
    created: number
    lastActive: number
    expires: number
    owner?: string
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function unwrap(session: unknown): StoredSession | undefined {
  if (!isObject(session) || !isObject(session.cloakroom)) return undefined
  const record = session.cloakroom
  const { created, lastActive, expires, owner } = record
  if (record.v !== 1 || typeof created !== 'number' || typeof lastActive !== 'number')
    return undefined
  if (typeof expires !== 'number') return undefined
  return {
    data: plainRecord(record.data),
    system: plainRecord(record.system),
    created,
    lastActive,
    expires,
    ...(typeof owner === 'string' ? { owner } : {}),
  }
}

function wrap(record: StoredSession, time: number): Envelope {
  return {
    cookie: {
      originalMaxAge: Math.max(0, record.expires - time),
      expires: new Date(record.expires).toISOString(),
    },
    cloakroom: {
      v: 1,
      data: plainRecord(record.data),
      system: plainRecord(record.system),
      created: record.created,
      lastActive: record.lastActive,
      expires: record.expires,
      ...(record.owner === undefined ? {} : { owner: record.owner }),
    },
  }
}

/**
 * Lets an existing express-session store (connect-redis, connect-pg-simple, connect-mongo...)
 * back a Cloakroom store factory, so an application can move to Cloakroom and keep the session
 * backend it already runs.
 *
 * @remarks
 * Each session is saved as an express-session session object under the id hash: a `cookie`
 * with `expires` (which the wrapped store reads to set its own expiry) and Cloakroom's record
 * under `cloakroom`. Sessions written by express-session itself have another id and shape and
 * are not read.
 *
 * What the wrapper cannot promise: the callback API has no partial update and no conditional
 * write, so `patch`, `touch` and `set({ onlyIfExists })` read the whole session and write it
 * back. Within one process, the wrapper runs the operations on one session one after another,
 * each waiting until the store has answered the one before (even one that timed out), so
 * concurrent requests changing different keys all survive and a deleted session is not
 * resurrected. Across processes, the guarantees are those of the wrapped store (usually: the
 * last write wins, and a request racing a logout on another process may bring the session back
 * until it expires). Use a native Cloakroom store when several processes share sessions.
 *
 * `listByOwner` and `deleteByOwner` read every session through the store's optional `all()`,
 * which is slow on large stores.
 *
 * @param store the express-session store
 * @param options the timeout and the clock
 * @returns a Cloakroom store
 * @throws {@link ConfigError} when `store` lacks `get`, `set` or `destroy`, or an option is invalid
 *
 * @example
 * ```ts
 * import { RedisStore } from 'connect-redis'
 * import { createStoreFactory, fromExpressSessionStore } from 'cloakroom'
 * const store = fromExpressSessionStore(new RedisStore({ client, prefix: 'sess:' }))
 * const factory = createStoreFactory({ store })
 * ```
 */
export function fromExpressSessionStore(
  store: ExpressSessionStoreLike,
  options: ExpressSessionStoreOptions = {},
): SessionStore {
  for (const method of ['get', 'set', 'destroy'] as const) {
    if (typeof store?.[method] !== 'function') {
      throw new ConfigError('store', `expected an express-session store with a ${method}() method.`)
    }
  }
  const timeoutMs = options.timeoutMs ?? 2000
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new ConfigError('timeoutMs', 'expected a whole number of milliseconds greater than 0.')
  }
  const now = options.now ?? Date.now
  if (typeof now !== 'function')
    throw new ConfigError('now', 'expected a function returning milliseconds.')

  const caller = createStoreCaller(timeoutMs, 'express-session store')
  const noop = (): void => undefined

  /** Calls one callback-style method of the store; settles when the store answers. */
  const invoke = (method: (callback: ExpressSessionCallback) => unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      // A throw in here rejects the promise, and the caller wraps it like any failure.
      const returned = method((error, result) => {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the store's error, whatever it is, becomes the cause
        if (error !== undefined && error !== null) reject(error)
        else resolve(result)
      })
      // Promise-returning stores may also reject; the callback carries the outcome.
      if (isObject(returned) && typeof returned.then === 'function') {
        ;(returned as unknown as Promise<unknown>).then(undefined, reject)
      }
    })

  /**
   * The store methods one operation calls. After the operation's deadline a method is refused
   * instead of called; every call is kept, so the session's queue can wait for it to finish.
   */
  class OperationCalls {
    readonly started: Promise<unknown>[] = []
    readonly #deadline: CallDeadline

    constructor(deadline: CallDeadline) {
      this.#deadline = deadline
    }

    call(method: (callback: ExpressSessionCallback) => unknown): Promise<unknown> {
      if (this.#deadline.expired) throw new Error('The operation timed out before this call.')
      const answer = invoke(method)
      this.started.push(answer)
      return answer
    }

    async read(idHash: string): Promise<StoredSession | undefined> {
      const record = unwrap(await this.call((callback) => store.get(idHash, callback)))
      if (record === undefined) return undefined
      if (record.expires <= now()) {
        await this.call((callback) => store.destroy(idHash, callback))
        return undefined
      }
      return record
    }

    async write(idHash: string, record: StoredSession): Promise<void> {
      await this.call((callback) => store.set(idHash, wrap(record, now()), callback))
    }
  }

  /**
   * Runs one operation on one session, within the deadline. Operations on a session run one
   * after another in this process, and the next one waits until the store has answered every
   * call of the one before, not merely until that one timed out: a write the store finishes late
   * can never land after the logout that followed it. An operation that times out while waiting
   * for its turn calls nothing.
   */
  const queues = new Map<string, Promise<unknown>>()
  const exclusive = <T>(
    operation: string,
    idHash: string,
    body: (calls: OperationCalls) => Promise<T>,
  ): Promise<T> => {
    const previous = queues.get(idHash) ?? Promise.resolve()
    let calls: OperationCalls | undefined
    const result = caller(`express-session store ${operation}`, async (deadline) => {
      await previous
      calls = new OperationCalls(deadline)
      return body(calls)
    })
    // After the operation before (even when this one gave up waiting for it) and every store call
    // this one made.
    const tail = Promise.allSettled([previous, result])
      .then(() => Promise.allSettled(calls?.started ?? []))
      .then(noop)
    queues.set(idHash, tail)
    void tail.then(() => {
      if (queues.get(idHash) === tail) queues.delete(idHash)
    })
    return result
  }

  const applyPatch = (
    target: Readonly<Record<string, JsonValue>>,
    changes: SessionPatch['data'],
  ): Record<string, JsonValue> => {
    const next = plainRecord(target)
    for (const key of changes.deleted) delete next[key]
    for (const [key, value] of changes.set) {
      setMember(next, key, value)
    }
    return next
  }

  const everySession = async (): Promise<[string, StoredSession][]> => {
    if (typeof store.all !== 'function') {
      throw new ConfigError(
        'store',
        'the wrapped express-session store has no all() method, so sessions cannot be listed or ended by owner.',
      )
    }
    const all = await caller('express-session store all', () =>
      invoke((callback) => store.all!(callback)),
    )
    const entries: [string, unknown][] = []
    if (Array.isArray(all)) {
      for (const session of all as unknown[]) {
        if (!isObject(session) || typeof session.id !== 'string') {
          throw new StoreUnavailableError('express-session store all', {
            cause: new Error('all() returned a session without an id.'),
          })
        }
        entries.push([session.id, session])
      }
    } else if (isObject(all)) {
      for (const id of Object.keys(all)) entries.push([id, all[id]])
    }
    const time = now()
    const sessions: [string, StoredSession][] = []
    for (const [id, session] of entries) {
      const record = unwrap(session)
      if (record !== undefined && record.expires > time) sessions.push([id, record])
    }
    return sessions
  }

  return {
    get(idHash) {
      return exclusive('get', idHash, (calls) => calls.read(idHash))
    },

    set(idHash, record, setOptions) {
      return exclusive('set', idHash, async (calls) => {
        if (setOptions?.onlyIfExists === true && (await calls.read(idHash)) === undefined) {
          return false
        }
        await calls.write(idHash, record)
        return true
      })
    },

    patch(idHash, patch) {
      return exclusive('patch', idHash, async (calls) => {
        const current = await calls.read(idHash)
        if (current === undefined) return false
        const owner = patch.owner === undefined ? current.owner : (patch.owner ?? undefined)
        await calls.write(idHash, {
          data: applyPatch(current.data, patch.data),
          system: applyPatch(current.system, patch.system),
          created: current.created,
          lastActive: patch.lastActive,
          expires: patch.expires,
          ...(owner === undefined ? {} : { owner }),
        })
        return true
      })
    },

    touch(idHash, lastActive, expires) {
      return exclusive('touch', idHash, async (calls) => {
        const current = await calls.read(idHash)
        if (current === undefined) return false
        await calls.write(idHash, { ...current, lastActive, expires })
        return true
      })
    },

    delete(idHash) {
      return exclusive('delete', idHash, async (calls) => {
        await calls.call((callback) => store.destroy(idHash, callback))
      })
    },

    async listByOwner(owner) {
      const sessions = await everySession()
      return sessions
        .filter(([, record]) => record.owner === owner)
        .map(([idHash, record]): StoredSessionSummary => ({
          idHash,
          created: record.created,
          lastActive: record.lastActive,
          expires: record.expires,
        }))
        .sort((a, b) => a.created - b.created)
    },

    async deleteByOwner(owner, exceptIdHash) {
      const sessions = await everySession()
      let count = 0
      for (const [idHash, record] of sessions) {
        if (record.owner !== owner || idHash === exceptIdHash) continue
        // Read again in the session's turn: it may have changed owner since the listing.
        const deleted = await exclusive('deleteByOwner', idHash, async (calls) => {
          if ((await calls.read(idHash))?.owner !== owner) return false
          await calls.call((callback) => store.destroy(idHash, callback))
          return true
        })
        if (deleted) count++
      }
      return count
    },
  }
}
