import { setMember, type JsonValue } from '../session/serializer.js'
import type {
  SessionPatch,
  StoredNamespacePatch,
  StoredSession,
  StoreStats,
} from './session-store.js'

/** The shape of a record key: SHA-256 in base64url is 43 characters; other safe keys are allowed. */
const ID_HASH = /^[A-Za-z0-9_-]{1,128}$/

/**
 * Checks that a record key is safe to use as a file name or a key fragment.
 *
 * @param idHash the record key
 * @returns whether it holds only base64url characters (at most 128)
 */
export function isSafeIdHash(idHash: string): boolean {
  return typeof idHash === 'string' && ID_HASH.test(idHash)
}

/**
 * @param value anything
 * @returns whether it can be a namespace of a record: an object that is not an array
 */
export function isNamespace(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/**
 * Checks the shape of a record read back from storage (a file, a JSON column).
 *
 * @param value the parsed JSON
 * @returns whether it has every field of a {@link StoredSession} with the right type
 */
export function isStoredSession(value: unknown): value is StoredSession {
  if (!isNamespace(value)) return false
  const record = value as Record<string, unknown>
  return (
    isNamespace(record.data) &&
    isNamespace(record.system) &&
    isTime(record.created) &&
    isTime(record.lastActive) &&
    isTime(record.expires) &&
    (record.owner === undefined || typeof record.owner === 'string')
  )
}

/**
 * Copies an object's own keys into a plain object (keys such as `__proto__` stay data); anything
 * but a non-array object gives an empty one.
 *
 * @param value parsed JSON, a driver's row field
 * @returns the copy
 */
export function plainRecord(value: unknown): Record<string, JsonValue> {
  const copy: Record<string, JsonValue> = {}
  if (!isNamespace(value)) return copy
  for (const key of Object.keys(value)) {
    setMember(copy, key, value[key])
  }
  return copy
}

/**
 * Applies one namespace's changes to a copy of its stored values.
 *
 * @param base the stored values
 * @param patch the keys to set and to remove
 * @returns a new object; `base` is not changed
 */
export function patchNamespace(
  base: Readonly<Record<string, JsonValue>>,
  patch: StoredNamespacePatch,
): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {}
  for (const key of Object.keys(base)) {
    if (!patch.deleted.has(key)) setMember(out, key, base[key]!)
  }
  for (const [key, value] of patch.set) setMember(out, key, value)
  return out
}

/**
 * Applies a field-level patch to a record, as a store that keeps whole records (memory, files)
 * does under its lock.
 *
 * @param record the stored record
 * @param patch the changes of one request
 * @returns the new record; `record` is not changed
 */
export function applySessionPatch(record: StoredSession, patch: SessionPatch): StoredSession {
  const owner = patch.owner === undefined ? record.owner : (patch.owner ?? undefined)
  return {
    data: patchNamespace(record.data, patch.data),
    system: patchNamespace(record.system, patch.system),
    created: record.created,
    lastActive: patch.lastActive,
    expires: patch.expires,
    ...(owner === undefined ? {} : { owner }),
  }
}

/**
 * Serializes a record to JSON text with a fixed field order.
 *
 * @param record the record
 * @returns its JSON text
 */
export function stringifyStoredSession(record: StoredSession): string {
  return JSON.stringify({
    data: record.data,
    system: record.system,
    created: record.created,
    lastActive: record.lastActive,
    expires: record.expires,
    ...(record.owner === undefined ? {} : { owner: record.owner }),
  })
}

/**
 * Adds up {@link StoreStats} over records read one by one, for stores that cannot ask their
 * engine for the figures.
 */
export class StatsTally {
  readonly #time: number
  #live = 0
  #expired = 0
  #oldestCreated: number | null = null
  #largestBytes: number | null = null

  /** @param time now, in milliseconds since the epoch: records expiring by then are expired */
  constructor(time: number) {
    this.#time = time
  }

  /**
   * Counts a record: expired when its expiry has passed or it cannot be read (`undefined`),
   * otherwise live, with its age and size.
   *
   * @param record the record, or undefined for one that is stored but unusable
   */
  add(record: StoredSession | undefined): void {
    if (record === undefined || record.expires <= this.#time) {
      this.#expired++
      return
    }
    const bytes =
      Buffer.byteLength(JSON.stringify(record.data)) +
      Buffer.byteLength(JSON.stringify(record.system))
    this.#live++
    this.#oldestCreated = Math.min(this.#oldestCreated ?? record.created, record.created)
    this.#largestBytes = Math.max(this.#largestBytes ?? bytes, bytes)
  }

  /** @returns the figures so far */
  result(): StoreStats {
    return {
      live: this.#live,
      expired: this.#expired,
      oldestCreated: this.#oldestCreated,
      largestBytes: this.#largestBytes,
    }
  }
}
