import type { SessionStore } from 'cloakroom'

/** The methods of a {@link SessionStore} that a recording store counts. */
export type StoreMethod =
  'get' | 'set' | 'patch' | 'touch' | 'delete' | 'listByOwner' | 'deleteByOwner'

/** One call seen by a recording store. */
export interface StoreCall {
  readonly method: StoreMethod
  readonly args: readonly unknown[]
}

/** A store that forwards every call to another one and keeps a log of them. */
export interface RecordingStore {
  /** The wrapping store, to hand to the factory. */
  readonly store: SessionStore
  /** Every call, in order. */
  readonly calls: StoreCall[]
  /** @returns how many calls of `method` were made */
  count(method: StoreMethod): number
  /** @returns the number of calls that write (set, patch, touch, delete, deleteByOwner) */
  writes(): number
  /** Forgets the calls made so far. */
  reset(): void
}

const WRITES: readonly StoreMethod[] = ['set', 'patch', 'touch', 'delete', 'deleteByOwner']

/**
 * Wraps a store so that tests can count its calls.
 *
 * @param inner the store that does the work
 * @returns the recording store
 */
export function recordingStore(inner: SessionStore): RecordingStore {
  const calls: StoreCall[] = []
  const wrap =
    <M extends StoreMethod>(method: M) =>
    (...args: unknown[]): unknown => {
      calls.push({ method, args })
      return (inner[method] as (...a: unknown[]) => unknown).apply(inner, args)
    }
  const store = {
    get: wrap('get'),
    set: wrap('set'),
    patch: wrap('patch'),
    touch: wrap('touch'),
    delete: wrap('delete'),
    listByOwner: wrap('listByOwner'),
    deleteByOwner: wrap('deleteByOwner'),
    prune: () => inner.prune?.() ?? Promise.resolve(0),
    close: () => inner.close?.() ?? Promise.resolve(),
  } as SessionStore
  return {
    store,
    calls,
    count: (method) => calls.filter((call) => call.method === method).length,
    writes: () => calls.filter((call) => WRITES.includes(call.method)).length,
    reset: () => void calls.splice(0),
  }
}
