import { InvalidArgumentError, SessionCommittedError } from '../errors.js'
import { ChangeTrackingMap, jsonEqual, type NamespaceChanges } from './change-tracking.js'
import { createCsrfToken } from './csrf-token.js'
import type { JsonValue, Serializer } from './serializer.js'

/**
 * The shape of your session data, declared once for the whole app by augmenting this interface.
 *
 * @example
 * ```ts
 * declare module 'cloakroom' {
 *   interface SessionData { userId: string; cart: { items: string[] } }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SessionData {}

/**
 * The data type sessions get when no type argument is given: your augmented {@link SessionData},
 * or a record of unknown values while it is empty.
 */
export type DefaultSessionData = keyof SessionData extends never
  ? Record<string, unknown>
  : SessionData

/**
 * The type of your flash messages, declared once for the whole app by augmenting this interface
 * with a `message` property.
 *
 * @example
 * ```ts
 * declare module 'cloakroom' {
 *   interface FlashTypes { message: { text: string; level: 'info' | 'error' } }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface FlashTypes {}

/** The type of flash messages: the `message` of your augmented {@link FlashTypes}, or unknown. */
export type FlashMessage = FlashTypes extends { message: infer Message } ? Message : unknown

/** Options of {@link Session.flash}. */
export interface FlashOptions {
  /**
   * The queue to add to; queues are independent.
   * @defaultValue `''`
   */
  readonly queue?: string
  /**
   * Add the message even when an equal one is already queued.
   * @defaultValue true
   */
  readonly allowDuplicate?: boolean
}

/** The string keys of a session data type. */
export type SessionKey<Data> = Extract<keyof Data, string>

/** The type stored under `K`: optional properties are stored without `undefined`. */
export type SessionValue<Data, K extends keyof Data> = Exclude<Data[K], undefined>

/** What a factory knows about a session when it loads it. */
export interface SessionInit {
  /** The decoded user data. */
  readonly data?: Iterable<readonly [string, unknown]>
  /** Library-owned fields (CSRF token, flash queues, owner), kept apart from user data. */
  readonly system?: Iterable<readonly [string, unknown]>
  /** When the session began, in milliseconds since the epoch. */
  readonly created: number
  /** True when no valid session came with the request. */
  readonly isNew: boolean
  /**
   * User data still in its stored (encoded) form, as an alternative to `data`: each value is
   * decoded by the serializer on first read, a value never read is written back as stored, and
   * objects changed in place are compared with their stored form. The session never changes it,
   * so a factory may share one parsed record between requests.
   */
  readonly encodedData?: Readonly<Record<string, JsonValue>>
  /** Library fields in their stored form; see `encodedData`. */
  readonly encodedSystem?: Readonly<Record<string, JsonValue>>
}

/** The services a session needs from its factory. */
export interface SessionContext {
  /** Checks values on write and encodes them for change detection. */
  readonly serializer: Serializer
  /** The clock, in milliseconds since the epoch. */
  readonly now: () => number
  /**
   * Optional: user keys the factory's format cannot store. `set()`, `setDefault()` and `update()`
   * refuse them with {@link InvalidArgumentError}.
   *
   * @param key a session key
   * @returns why the key cannot be used, or undefined when it can
   */
  readonly reservedKey?: (key: string) => string | undefined
  /**
   * The source of randomness for CSRF tokens.
   * @defaultValue `randomBytes` from `node:crypto`
   */
  readonly randomBytes?: (size: number) => Uint8Array
}

interface SessionInternals {
  init: SessionInit | (() => SessionInit)
  context: SessionContext
  resolved?: {
    data: ChangeTrackingMap
    system: ChangeTrackingMap
    created: number
    isNew: boolean
  }
  forced: boolean
  invalidated: boolean
  regenerated: boolean
  committed: boolean
  factoryState: unknown
}

let internalsOf: <D extends object>(session: Session<D>) => SessionInternals

/**
 * One user's session for one request: a typed, Map-like namespace that lives across requests.
 *
 * @remarks
 * Data and methods never share a namespace: a key named `get` or `__proto__` is just data.
 * Objects changed in place (`session.get('cart')!.items.push(x)`) are saved without calling
 * {@link Session.changed}. Reading never creates a cookie for a new session.
 *
 * @example
 * ```ts
 * const visits = session.get('visits') ?? 0
 * session.set('visits', visits + 1)
 * ```
 */
export class Session<Data extends object = DefaultSessionData> {
  readonly #internals: SessionInternals

  static {
    internalsOf = (session) => session.#internals
  }

  /**
   * Session factories create sessions; applications receive them from an adapter.
   *
   * @param init the loaded state, or a function that loads it on first use
   * @param context the serializer and clock of the factory
   * @param factoryState anything the factory wants back at commit (see
   *   {@link SessionCommitView.factoryState}), so it needs no side table
   */
  constructor(
    init: SessionInit | (() => SessionInit),
    context: SessionContext,
    factoryState?: unknown,
  ) {
    this.#internals = {
      init,
      context,
      forced: false,
      invalidated: false,
      regenerated: false,
      committed: false,
      factoryState,
    }
  }

  get #state(): NonNullable<SessionInternals['resolved']> {
    const internals = this.#internals
    if (internals.resolved !== undefined) return internals.resolved
    const init = typeof internals.init === 'function' ? internals.init() : internals.init
    const { serializer } = internals.context
    internals.resolved = {
      data: new ChangeTrackingMap(new Map(init.data), serializer, init.encodedData),
      system: new ChangeTrackingMap(new Map(init.system), serializer, init.encodedSystem),
      created: init.created,
      isNew: init.isNew,
    }
    if (internals.committed) internals.resolved.data.freeze()
    return internals.resolved
  }

  #checkKey(key: unknown): void {
    checkKey(key, this.#internals.context)
  }

  #mutable(operation: string): NonNullable<SessionInternals['resolved']> {
    if (this.#internals.committed) throw new SessionCommittedError(operation)
    return this.#state
  }

  /** When the session began, in milliseconds since the epoch. */
  get created(): number {
    return this.#state.created
  }

  /** True when no valid session came with the request (or after {@link Session.invalidate}). */
  get isNew(): boolean {
    return this.#state.isNew
  }

  /** The number of keys. */
  get size(): number {
    return this.#state.data.size
  }

  /**
   * @param key the key to read
   * @returns the stored value, or undefined when the key is missing
   */
  get<K extends SessionKey<Data>>(key: K): SessionValue<Data, K> | undefined {
    return this.#state.data.get(key) as SessionValue<Data, K> | undefined
  }

  /**
   * Stores a value. The session keeps the object itself, not a copy: changes made to it in
   * place before the response starts are saved, and once it starts the object is frozen.
   *
   * @param key the key to write
   * @param value a value the serializer can keep (by default JSON values and Date)
   * @returns the session, for chaining
   * @throws {@link UnserializableValueError} when the value cannot be stored faithfully
   * @throws {@link InvalidArgumentError} when `key` is not a string, or a name the factory's
   *   format reserves (Pyramid cookies: `_csrft_`, `_f_…`, `_cloakroom_…`)
   * @throws {@link SessionCommittedError} when the response headers were already sent
   */
  set<K extends SessionKey<Data>>(key: K, value: SessionValue<Data, K>): this {
    this.#checkKey(key)
    this.#mutable('set').data.set(key, value)
    return this
  }

  /**
   * @param key the key to look up
   * @returns whether the key is present
   */
  has(key: string): boolean {
    return this.#state.data.has(key)
  }

  /**
   * Removes a key. Removing a missing key changes nothing and writes no cookie (and, after the
   * commit, does not throw).
   *
   * @param key the key to remove
   * @returns true when the key was present
   * @throws {@link SessionCommittedError} when the key is present and the response headers were
   *   already sent
   */
  delete(key: SessionKey<Data>): boolean {
    const state = this.#state
    if (!state.data.has(key)) return false
    return this.#mutable('delete').data.delete(key)
  }

  /**
   * Removes every key, keeping the session itself (use {@link Session.invalidate} to end it).
   *
   * @throws {@link SessionCommittedError} when the response headers were already sent
   */
  clear(): void {
    this.#mutable('clear').data.clear()
  }

  /**
   * Removes a key and returns its value.
   *
   * @param key the key to remove
   * @param fallback returned when the key is missing
   * @returns the removed value, or `fallback`
   */
  pop<K extends SessionKey<Data>>(key: K): SessionValue<Data, K> | undefined
  pop<K extends SessionKey<Data>>(key: K, fallback: SessionValue<Data, K>): SessionValue<Data, K>
  pop<K extends SessionKey<Data>>(
    key: K,
    fallback?: SessionValue<Data, K>,
  ): SessionValue<Data, K> | undefined {
    const state = this.#state
    if (!state.data.has(key)) return fallback
    const value = state.data.read(key) as SessionValue<Data, K>
    this.#mutable('pop').data.delete(key)
    return value
  }

  /**
   * Returns the value of a key, storing `value` first when the key is missing.
   *
   * @param key the key to read
   * @param value the value to store when the key is missing
   * @returns the stored value
   * @throws {@link UnserializableValueError} when `value` is needed and cannot be stored
   * @throws {@link InvalidArgumentError} when `key` is not a string, or a name the factory's
   *   format reserves (Pyramid cookies: `_csrft_`, `_f_…`, `_cloakroom_…`)
   */
  setDefault<K extends SessionKey<Data>>(
    key: K,
    value: SessionValue<Data, K>,
  ): SessionValue<Data, K> {
    const state = this.#state
    if (state.data.has(key)) return state.data.get(key) as SessionValue<Data, K>
    this.#checkKey(key)
    this.#mutable('setDefault').data.set(key, value)
    return value
  }

  /**
   * Stores every member of a record. Either all are stored or, when one cannot be, none is.
   *
   * @param record the keys and values to store
   * @throws {@link UnserializableValueError} when a value cannot be stored
   * @throws {@link InvalidArgumentError} when `record` is not an object, a key is not a string,
   *   or a name the factory's format reserves (Pyramid cookies: `_csrft_`, `_f_…`, `_cloakroom_…`)
   */
  update(record: Partial<Data>): void {
    if (typeof record !== 'object' || record === null) {
      throw new InvalidArgumentError(
        'record',
        `expected an object of keys and values, got ${record === null ? 'null' : typeof record}.`,
      )
    }
    const data = this.#mutable('update').data
    const names = Object.keys(record) as SessionKey<Data>[]
    for (const name of names) {
      this.#checkKey(name)
      this.#internals.context.serializer.encode(record[name], name)
    }
    for (const name of names) data.set(name, record[name])
  }

  /** @returns the keys, in insertion order */
  keys(): IterableIterator<SessionKey<Data>> {
    return this.#state.data.keys() as IterableIterator<SessionKey<Data>>
  }

  /** @returns the values, in key insertion order */
  *values(): IterableIterator<SessionValue<Data, SessionKey<Data>>> {
    for (const [, value] of this.entries()) yield value
  }

  /** @returns the `[key, value]` pairs, in insertion order */
  entries(): IterableIterator<[SessionKey<Data>, SessionValue<Data, SessionKey<Data>>]> {
    return this.#state.data.entries() as IterableIterator<
      [SessionKey<Data>, SessionValue<Data, SessionKey<Data>>]
    >
  }

  /** @returns the `[key, value]` pairs, as {@link Session.entries} does */
  [Symbol.iterator](): IterableIterator<[SessionKey<Data>, SessionValue<Data, SessionKey<Data>>]> {
    return this.entries()
  }

  /**
   * @returns a deep, plain copy of the data; changing it does not change the session
   */
  toJSON(): Partial<Data> {
    const { serializer } = this.#internals.context
    const copy: Record<string, unknown> = {}
    for (const [key, value] of this.#state.data.readAll()) {
      Object.defineProperty(copy, key, {
        // Through the serializer: a value changed in place into something it cannot keep gets
        // its typed error here too, and the copy holds what a later request would read.
        value: serializer.decode(serializer.encode(value, key)),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return copy as Partial<Data>
  }

  /**
   * Marks the session as changed, so the whole session is written at commit. Only needed for
   * changes the session cannot see (changes to objects it never handed out).
   */
  changed(): void {
    this.#mutable('changed')
    this.#internals.forced = true
  }

  /**
   * Ends the session: drops all data, resets `created` and `isNew`, and makes the response
   * delete the cookie (server-side sessions also delete the stored record). Data set afterwards
   * in the same request starts a fresh session.
   *
   * @throws {@link SessionCommittedError} when the response headers were already sent
   */
  invalidate(): void {
    const state = this.#mutable('invalidate')
    state.data.clear()
    state.system.clear()
    state.created = this.#internals.context.now()
    state.isNew = true
    this.#internals.invalidated = true
    this.#internals.forced = false
  }

  /**
   * Queues a message to show on a later request (after a redirect, typically).
   *
   * @param message any storable value
   * @param options the queue, and whether an equal message may be queued twice
   * @throws {@link UnserializableValueError} when the message cannot be stored
   * @throws {@link InvalidArgumentError} when the message is `undefined`
   */
  flash(message: FlashMessage, options: FlashOptions = {}): void {
    if (message === undefined) {
      throw new InvalidArgumentError('message', 'a flash message cannot be undefined.')
    }
    const system = this.#mutable('flash').system
    const field = FLASH_FIELD_PREFIX + (options.queue ?? '')
    const queued = system.read(field)
    const list = Array.isArray(queued) ? (queued as FlashMessage[]) : []
    if (options.allowDuplicate === false) {
      const { serializer } = this.#internals.context
      const encoded = serializer.encode(message, field)
      // Equal JSON, whatever the order of object keys.
      const same = (item: FlashMessage): boolean =>
        jsonEqual(serializer.encode(item, field), encoded)
      if (list.some(same)) return
    }
    system.set(field, [...list, message])
  }

  /**
   * Returns the queued messages without removing them.
   *
   * @param queue the queue to read
   * @returns a copy of the messages (changing it changes nothing), or `[]`
   */
  peekFlash(queue = ''): FlashMessage[] {
    const field = FLASH_FIELD_PREFIX + queue
    const queued = this.#state.system.read(field)
    if (!Array.isArray(queued)) return []
    const { serializer } = this.#internals.context
    return serializer.decode(serializer.encode(queued, field)) as FlashMessage[]
  }

  /**
   * Removes and returns the queued messages. An empty or missing queue returns `[]` and writes
   * nothing.
   *
   * @param queue the queue to empty
   * @returns the messages, oldest first
   */
  popFlash(queue = ''): FlashMessage[] {
    const field = FLASH_FIELD_PREFIX + queue
    const queued = this.#state.system.read(field)
    if (!Array.isArray(queued) || queued.length === 0) return []
    this.#mutable('popFlash').system.delete(field)
    return queued as FlashMessage[]
  }

  /**
   * Makes a new CSRF token (256 random bits, base64url) and stores it in the session.
   *
   * @returns the token
   */
  newCsrfToken(): string {
    const system = this.#mutable('newCsrfToken').system
    const token = createCsrfToken(this.#internals.context.randomBytes)
    system.set(CSRF_TOKEN_FIELD, token)
    return token
  }

  /**
   * Returns the session's CSRF token, making one when there is none (which saves the session).
   *
   * @returns the token
   */
  getCsrfToken(): string {
    const token = this.#state.system.read(CSRF_TOKEN_FIELD)
    return typeof token === 'string' ? token : this.newCsrfToken()
  }

  /** The user this session belongs to, as set by {@link Session.setOwner}, or undefined. */
  get owner(): string | undefined {
    const owner = this.#state.system.read(OWNER_FIELD)
    return typeof owner === 'string' ? owner : undefined
  }

  /**
   * Records which user the session belongs to, so the factory can list and end a user's sessions
   * ("log out other devices"). Call it at login, after {@link Session.regenerate}.
   *
   * @param owner the user's id (1 to 512 characters, without U+0000 or
   *   unpaired surrogates, which stores cannot index), or null to remove it
   * @throws {@link InvalidArgumentError} when `owner` is not such a string
   * @throws {@link SessionCommittedError} when the response headers were already sent
   */
  setOwner(owner: string | null): void {
    if (owner !== null) checkOwner(owner)
    const system = this.#mutable('setOwner').system
    if (owner === null) system.delete(OWNER_FIELD)
    else system.set(OWNER_FIELD, owner)
  }

  /**
   * Gives the session a new identity with the same data: the call to make at login and at every
   * privilege change. Rotates the CSRF token, restarts the absolute timeout (`created` becomes
   * now), and on server-side sessions issues a new id and deletes the old record.
   *
   * @throws {@link SessionCommittedError} when the response headers were already sent
   */
  regenerate(): void {
    const state = this.#mutable('regenerate')
    state.system.delete(CSRF_TOKEN_FIELD)
    state.created = this.#internals.context.now()
    this.#internals.regenerated = true
  }
}

/** The library-owned field that holds the CSRF token. */
export const CSRF_TOKEN_FIELD = 'csrf'
/** The library-owned field that holds the session's owner (see {@link Session.setOwner}). */
export const OWNER_FIELD = 'owner'

/**
 * The longest owner id {@link Session.setOwner} accepts, in UTF-16 code units: at most 1.5 KB
 * of UTF-8, well inside what a PostgreSQL index entry or a Redis key name can hold.
 */
const MAX_OWNER_LENGTH = 512

/**
 * Session keys are strings (a symbol would be lost at the next request, a number renamed), and
 * not one the factory's format reserves.
 */
function checkKey(key: unknown, context: SessionContext): void {
  if (typeof key !== 'string') {
    throw new InvalidArgumentError(
      'key',
      `expected a string, got ${typeof key}. Session keys are strings, as in JSON objects.`,
    )
  }
  const reserved = context.reservedKey?.(key)
  if (reserved !== undefined) throw new InvalidArgumentError('key', `"${key}" is ${reserved}.`)
}

/** U+0000, or (with the `u` flag a pair is one code point) an unpaired surrogate. */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what this looks for
const UNINDEXABLE = /[\u0000\p{Cs}]/u

/**
 * Checks a user id as {@link Session.setOwner} does.
 *
 * @param owner the user id
 * @throws {@link InvalidArgumentError} when it is not one stores can index
 */
export function checkOwner(owner: unknown): void {
  if (typeof owner !== 'string' || owner === '' || owner.length > MAX_OWNER_LENGTH) {
    throw new InvalidArgumentError(
      'owner',
      `expected a user id of 1 to ${MAX_OWNER_LENGTH} characters, or null to remove the owner.`,
    )
  }
  if (UNINDEXABLE.test(owner)) {
    throw new InvalidArgumentError(
      'owner',
      'the user id contains U+0000 or an unpaired surrogate, which session stores cannot index. ' +
        'Pass the id as stored in your user table.',
    )
  }
}
/** The prefix of the library-owned fields that hold flash queues: `flash:<queue>`. */
export const FLASH_FIELD_PREFIX = 'flash:'

/**
 * What a factory reads from a session when it commits it; see {@link sessionChanges}.
 */
export class SessionCommitView {
  readonly #internals: SessionInternals
  readonly #session: Session<object>

  /**
   * @param internals the session's internal state
   * @param session the session
   */
  constructor(internals: SessionInternals, session: Session<object>) {
    this.#internals = internals
    this.#session = session
  }

  get #resolved(): NonNullable<SessionInternals['resolved']> {
    if (this.#internals.resolved === undefined) void this.#session.size
    return this.#internals.resolved!
  }

  /** The session was used (read or written) during the request. Untouched sessions cost nothing. */
  get accessed(): boolean {
    return this.#internals.resolved !== undefined
  }
  /** When the session began, in milliseconds since the epoch. */
  get created(): number {
    return this.#resolved.created
  }
  /** True when no valid session came with the request, or it was invalidated. */
  get isNew(): boolean {
    return this.#resolved.isNew
  }
  /** `invalidate()` was called during the request. */
  get invalidated(): boolean {
    return this.#internals.invalidated
  }
  /** `regenerate()` was called during the request. */
  get regenerated(): boolean {
    return this.#internals.regenerated
  }
  /** `changed()` was called: write the whole session. */
  get forced(): boolean {
    return this.#internals.forced
  }
  /** The value the factory passed as the session constructor's third argument. */
  get factoryState(): unknown {
    return this.#internals.factoryState
  }
  /** @returns whether the session holds no data and no library fields */
  isEmpty(): boolean {
    const resolved = this.#resolved
    return resolved.data.size === 0 && resolved.system.size === 0
  }
  /** @returns the changes to user data, or undefined when there are none */
  dataChanges(): NamespaceChanges | undefined {
    return this.#resolved.data.changes()
  }
  /** @returns the changes to library fields, or undefined when there are none */
  systemChanges(): NamespaceChanges | undefined {
    return this.#resolved.system.changes()
  }
  /**
   * @returns whether anything was written, removed, changed in place, or forced; cheaper than
   *   computing the changes
   */
  hasChanges(): boolean {
    const { forced, invalidated, regenerated } = this.#internals
    const resolved = this.#resolved
    return (
      forced || invalidated || regenerated || resolved.data.isDirty() || resolved.system.isDirty()
    )
  }
  /** @returns every user value, encoded, for a whole write */
  encodeData(): Record<string, JsonValue> {
    return this.#resolved.data.encodeAll()
  }
  /** @returns every library field, encoded, for a whole write */
  encodeSystem(): Record<string, JsonValue> {
    return this.#resolved.system.encodeAll()
  }
  /**
   * @param name the library field
   * @returns its value, without marking anything
   */
  readSystem(name: string): unknown {
    return this.#resolved.system.read(name)
  }
  /**
   * Refuses further changes: the headers are on their way. Reads stay allowed, and the values
   * become read-only, so that a change in place fails loudly rather than being lost.
   */
  lock(): void {
    this.#internals.committed = true
    this.#internals.resolved?.data.freeze()
    // Flash messages are the application's objects too.
    this.#internals.resolved?.system.freeze()
  }
}

/**
 * Reads what happened to a session during a request. This is the API for writing your own
 * {@link SessionFactory}: call it from `commit`.
 *
 * @param session the session handed out by your factory's `load`
 * @returns a view of its state and changes
 */
export function sessionChanges<Data extends object>(session: Session<Data>): SessionCommitView {
  return new SessionCommitView(internalsOf(session), session as unknown as Session<object>)
}

/**
 * Library-internal access to the fields kept apart from user data (CSRF token, flash queues,
 * owner). Not exported from the package.
 *
 * @param session the session
 * @returns the tracked map of library fields
 */
export function systemFields<Data extends object>(session: Session<Data>): ChangeTrackingMap {
  void session.size
  return internalsOf(session).resolved!.system
}

/**
 * Refuses changes once the session's cookie is on its way; used by adapters.
 *
 * @param session the session
 * @returns whether the session was already locked
 */
export function isCommitted<Data extends object>(session: Session<Data>): boolean {
  return internalsOf(session).committed
}
