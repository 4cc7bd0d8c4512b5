import { createHash } from 'node:crypto'
import type { RedisClientOptions } from 'redis'
import { ConfigError } from '../errors.js'
import { setMember, type JsonValue } from '../session/serializer.js'
import { fromStorableKey, toStorableKey } from './storable-key.js'
import { createStoreCaller, type CallDeadline } from './store-call.js'
import { StatsTally } from './stored-record.js'
import type {
  SessionPatch,
  SessionStore,
  StoreStats,
  StoredSession,
  StoredSessionSummary,
} from './session-store.js'

/**
 * The commands the Redis store sends, as node-redis v5 names them. A client from `createClient()`
 * or a cluster from `createCluster()` (package `redis`) fits, as does a client returned by
 * `withCommandOptions()`.
 */
export interface RedisStoreClient {
  /** HGETALL. */
  hGetAll(key: string): Promise<unknown>
  /** HMGET. */
  hmGet(key: string, fields: string[]): Promise<unknown>
  /** EVALSHA. */
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  /** EVAL. */
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  /** DEL. */
  del(key: string): Promise<unknown>
  /** ZRANGE ... WITHSCORES. */
  zRangeWithScores(key: string, start: number, stop: number): Promise<unknown>
  /** ZREM. */
  zRem(key: string, members: string[]): Promise<unknown>
  /** SCAN, used only by `stats()`; without it, `stats()` fails. */
  scan?(
    cursor: string,
    options: { MATCH: string; COUNT: number; TYPE: string },
  ): Promise<{ cursor: unknown; keys: unknown[] }>
  /**
   * A cluster's master nodes (`createCluster()` has them): `stats()` walks each with SCAN, since
   * a cluster client's own SCAN sees one node only.
   */
  readonly masters?: readonly unknown[]
  /** The client of one of {@link RedisStoreClient.masters} (`createCluster()` has it). */
  nodeClient?(node: unknown): Promise<RedisStoreClient>
}

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /**
   * A node-redis v5 client or cluster (`createClient()`, `createCluster()`), connected by you.
   * Give either `client` or `url`. The store never closes a client it did not create.
   *
   * > [!WARNING]
   * > A node-redis client without an `'error'` listener crashes the process when the connection
   * > drops. When the client has none, the store adds one that reports through `onError`.
   * @defaultValue undefined
   */
  readonly client?: RedisStoreClient
  /**
   * A Redis URL (`redis://host:6379/0`, `rediss://` for TLS): the store creates, connects and,
   * on `close()`, closes its own client. Give either `client` or `url`.
   * @defaultValue undefined
   */
  readonly url?: string
  /**
   * Options for the client created from `url` (TLS, credentials, reconnect strategy...).
   * @defaultValue `{}`
   */
  readonly clientOptions?: Omit<RedisClientOptions, 'url'>
  /**
   * Prefix of every key the store writes. Give each application (and each test run) its own.
   * @defaultValue `'cloakroom:'`
   */
  readonly prefix?: string
  /**
   * How long one store operation may take, in milliseconds, before it fails with
   * {@link StoreUnavailableError}. It covers waiting for a reconnect (a command sent while the
   * client is not ready carries node-redis' own `timeout`, so it is dropped from the offline
   * queue and never runs late) and waiting for the reply of a server that hangs.
   * @defaultValue 2000
   */
  readonly commandTimeoutMs?: number
  /**
   * The clock, in milliseconds since the epoch; use the factory's. Expiry is checked against it,
   * and native TTLs are computed from it (`PEXPIRE expires - now()`).
   * @defaultValue `Date.now`
   */
  readonly now?: () => number
  /**
   * Told about connection errors the client emits (the store still answers each request with
   * {@link StoreUnavailableError} while Redis is away).
   * @defaultValue logs the error message with `console.error`
   */
  readonly onError?: (error: unknown) => void
}

/** The Redis store: a {@link SessionStore} with `stats()`, that can close the client it created. */
export interface RedisStore extends SessionStore {
  /**
   * Walks the session keys under the prefix with SCAN (one page of about 500 keys per operation,
   * each under `commandTimeoutMs`) and reads each hash; it writes nothing. On a cluster client it
   * walks every master in turn. Redis deletes expired sessions itself, so `expired` counts only
   * records whose TTL has not fired yet.
   * @returns the statistics
   * @throws {@link StoreUnavailableError} when Redis fails or the client has no `scan`
   */
  stats(): Promise<StoreStats>
  /** Closes the client when the store created it from `url`; otherwise does nothing. */
  close(): Promise<void>
}

/** A Lua script and its SHA-1, for EVALSHA with a fallback to EVAL. */
interface Script {
  readonly source: string
  readonly sha1: string
}

function script(source: string): Script {
  return { source, sha1: createHash('sha1').update(source).digest('hex') }
}

/**
 * Writes a record. KEYS[1] is the session hash. ARGV: now, ttl (ms), mode (`patch`, `replace`,
 * `replace-if-exists`), the number of fields to delete, those fields, then field/value pairs.
 * Returns {0} when the record is gone (nothing written, an expired record is deleted), else
 * {1, previous owner or '', ownerUntil or ''}.
 */
const WRITE = script(`
local key = KEYS[1]
local expires = tonumber(redis.call('HGET', key, 'expires'))
local live = expires ~= nil and expires > tonumber(ARGV[1])
if ARGV[3] ~= 'replace' and not live then
  if expires ~= nil then redis.call('DEL', key) end
  return {0}
end
local owner = redis.call('HGET', key, 'owner') or ''
local ownerUntil = redis.call('HGET', key, 'ownerUntil') or ''
if ARGV[3] ~= 'patch' then redis.call('DEL', key) end
local deletes = tonumber(ARGV[4])
for i = 5, 4 + deletes do redis.call('HDEL', key, ARGV[i]) end
for i = 5 + deletes, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', key, ARGV[2])
return {1, owner, ownerUntil}
`)

/**
 * Moves the expiry. KEYS[1] is the session hash; ARGV: now, ttl (ms), lastActive, expires.
 * Returns {0} when the record is gone, else {1, owner or '', ownerUntil or ''}.
 */
const TOUCH = script(`
local key = KEYS[1]
local expires = tonumber(redis.call('HGET', key, 'expires'))
if expires == nil or expires <= tonumber(ARGV[1]) then
  if expires ~= nil then redis.call('DEL', key) end
  return {0}
end
redis.call('HSET', key, 'lastActive', ARGV[3], 'expires', ARGV[4])
redis.call('PEXPIRE', key, ARGV[2])
return {1, redis.call('HGET', key, 'owner') or '', redis.call('HGET', key, 'ownerUntil') or ''}
`)

/**
 * Adds a member to an owner index, a sorted set scored by the member's `ownerUntil` (a time its
 * session cannot outlive without being indexed again), removes the members whose score is below
 * `trimBelow` (sessions that have certainly ended: the index holds one member per recent
 * session, however often its owner logs in), and makes the index live at least `ttl` ms.
 * KEYS[1] is the index; ARGV: member, ownerUntil, ttl, trimBelow.
 */
const INDEX = script(`
local key = KEYS[1]
redis.call('ZADD', key, ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ARGV[4])
local ttl = redis.call('PTTL', key)
if ttl == -1 or (ttl >= 0 and ttl < tonumber(ARGV[3])) then redis.call('PEXPIRE', key, ARGV[3]) end
return 1
`)

/**
 * Deletes a session. KEYS[1] is the session hash. Returns {owner or '', ownerUntil or ''}, so the
 * caller can take the session out of its owner's index.
 */
const DELETE = script(`
local key = KEYS[1]
local owner = redis.call('HGET', key, 'owner') or ''
local ownerUntil = redis.call('HGET', key, 'ownerUntil') or ''
redis.call('DEL', key)
return {owner, ownerUntil}
`)

/**
 * Deletes a session if it still belongs to an owner. KEYS[1] is the session hash; ARGV: owner,
 * now. Returns 2 when a live record was deleted, 1 when an expired one was, 0 when the record is
 * missing or has another owner.
 */
const DELETE_OWNED = script(`
local key = KEYS[1]
if redis.call('HGET', key, 'owner') ~= ARGV[1] then return 0 end
local expires = tonumber(redis.call('HGET', key, 'expires'))
redis.call('DEL', key)
if expires ~= nil and expires > tonumber(ARGV[2]) then return 2 end
return 1
`)

/**
 * Removes stale members from an owner index, each only if its score is still the one read: a
 * member indexed again since (its session given back to the owner) has a new score and stays.
 * KEYS[1] is the index; ARGV: member, score, member, score, ... Returns the number removed.
 */
const UNINDEX_UNCHANGED = script(`
local key = KEYS[1]
local removed = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', key, ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    removed = removed + redis.call('ZREM', key, ARGV[i])
  end
end
return removed
`)

/**
 * How long past its `ownerUntil` an index entry is kept before it is removed without looking at
 * its session: room for the clocks of several app servers to disagree (by up to ten minutes).
 * Before then, an entry whose session is missing or has another owner stays (the writer that
 * added it may not have written the session yet).
 */
const INDEX_GRACE_MS = 10 * 60_000

const DATA = 'd:'
/** Keys per SCAN page in `stats()`. */
const SCAN_COUNT = 500
const SYSTEM = 's:'

/** Reads a reply that node-redis gives as an object (RESP2) or a Map (RESP3 type mappings). */
function toRecord(reply: unknown): Record<string, string> {
  if (reply instanceof Map) {
    const record: Record<string, string> = {}
    for (const [key, value] of reply as Map<unknown, unknown>) {
      Object.defineProperty(record, String(key), { value: String(value), enumerable: true })
    }
    return record
  }
  return (reply ?? {}) as Record<string, string>
}

/**
 * Reads a session hash. A hash that is not a readable session (a field changed by hand into
 * something that is not JSON, a time that is not a number) reads as no session, as in the other
 * stores, rather than failing every request that carries its cookie.
 *
 * @param fields the hash's fields
 * @returns the record, or undefined
 */
function decodeRecord(fields: Record<string, string>): StoredSession | undefined {
  const expires = Number(fields.expires)
  const created = Number(fields.created)
  const lastActive = Number(fields.lastActive)
  if (
    fields.expires === undefined ||
    fields.created === undefined ||
    fields.lastActive === undefined ||
    !Number.isFinite(expires) ||
    !Number.isFinite(created) ||
    !Number.isFinite(lastActive)
  ) {
    return undefined
  }
  const data: Record<string, JsonValue> = {}
  const system: Record<string, JsonValue> = {}
  for (const field of Object.keys(fields)) {
    const prefix = field.startsWith(DATA) ? DATA : field.startsWith(SYSTEM) ? SYSTEM : undefined
    if (prefix === undefined) continue
    let value: JsonValue
    try {
      value = JSON.parse(fields[field]!) as JsonValue
    } catch {
      return undefined
    }
    setMember(prefix === DATA ? data : system, fromStorableKey(field.slice(prefix.length)), value)
  }
  return {
    data,
    system,
    created,
    lastActive,
    expires,
    ...(fields.owner === undefined ? {} : { owner: fields.owner }),
  }
}

function scriptReply(reply: unknown): { written: boolean; owner: string; ownerUntil: number } {
  const [status, owner, until] = reply as [number, string?, string?]
  return { written: Number(status) === 1, owner: owner ?? '', ownerUntil: Number(until ?? 0) || 0 }
}

function positiveInteger(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(option, 'expected a whole number of milliseconds greater than 0.')
  }
  return value
}

interface ClientHolder {
  /** Resolves to the client picker, connecting the client first if the store owns it. */
  client(): Promise<CommandClient>
  close(): Promise<void>
}

type EventSource = {
  listenerCount?(event: string): number
  on?(event: string, listener: (error: unknown) => void): unknown
}

/** Picks the client to send one command through, given the milliseconds its operation has left. */
type CommandClient = (remainingMs: number) => RedisStoreClient

/**
 * Makes the {@link CommandClient} of a client. node-redis' own `timeout` command option drops a command that could not be written in time
 * (Redis away, a reconnect under way) from its offline queue, so it never runs after the request
 * gave up; the store's deadline covers the reply. While the client is ready, commands are written
 * at once and the option (an `AbortSignal.timeout` per command, a heavy load on the garbage
 * collector) is skipped. The choice is made for every command, not once per operation: the link
 * can drop between two commands of one operation.
 */
function commandClient(client: RedisStoreClient): CommandClient {
  const configurable = client as RedisStoreClient & {
    readonly isReady?: boolean
    withCommandOptions?: (options: { timeout: number }) => RedisStoreClient
  }
  if (typeof configurable.withCommandOptions !== 'function') return () => client
  const withCommandOptions = configurable.withCommandOptions.bind(configurable)
  return (remainingMs) =>
    configurable.isReady === true
      ? client
      : withCommandOptions({ timeout: Math.max(1, Math.floor(remainingMs)) })
}

function holdClient(options: RedisStoreOptions, onError: (error: unknown) => void): ClientHolder {
  const listen = (client: unknown): void => {
    const source = client as EventSource
    if (typeof source.on === 'function' && source.listenerCount?.('error') === 0) {
      source.on('error', onError)
    }
  }

  if (options.client !== undefined) {
    listen(options.client)
    const pick = commandClient(options.client)
    return { client: () => Promise.resolve(pick), close: () => Promise.resolve() }
  }

  type OwnClient = RedisStoreClient & {
    isOpen: boolean
    connect(): Promise<unknown>
    close(): Promise<void>
    on(event: 'error', listener: (error: unknown) => void): unknown
  }
  let own: Promise<OwnClient> | undefined
  let pick: CommandClient | undefined
  let connecting: Promise<unknown> | undefined
  let closed = false
  const create = async (): Promise<OwnClient> => {
    const { createClient } = await import('redis')
    const client = createClient({
      ...options.clientOptions,
      url: options.url!,
    }) as unknown as OwnClient
    client.on('error', onError)
    pick = commandClient(client)
    return client
  }
  return {
    async client() {
      if (closed) throw new Error('The Redis store was closed.')
      own ??= create()
      const client = await own
      if (!client.isOpen) {
        connecting ??= client.connect().finally(() => {
          connecting = undefined
        })
      }
      if (connecting !== undefined) await connecting
      return pick!
    },
    async close() {
      closed = true
      if (own === undefined) return
      const client = await own
      if (client.isOpen) await client.close()
    },
  }
}

/**
 * One operation's view of the client: once the operation's deadline has passed, its remaining
 * commands are refused instead of sent.
 */
class DeadlineClient implements RedisStoreClient {
  readonly #pick: CommandClient
  readonly #deadline: CallDeadline

  constructor(pick: CommandClient, deadline: CallDeadline) {
    this.#pick = pick
    this.#deadline = deadline
  }

  #checked(): RedisStoreClient {
    const remainingMs = this.#deadline.remainingMs
    if (remainingMs <= 0) throw new Error('The operation timed out before this command.')
    return this.#pick(remainingMs)
  }

  hGetAll(key: string): Promise<unknown> {
    return this.#checked().hGetAll(key)
  }
  hmGet(key: string, fields: string[]): Promise<unknown> {
    return this.#checked().hmGet(key, fields)
  }
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    return this.#checked().evalSha(sha1, options)
  }
  eval(source: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    return this.#checked().eval(source, options)
  }
  del(key: string): Promise<unknown> {
    return this.#checked().del(key)
  }
  zRangeWithScores(key: string, start: number, stop: number): Promise<unknown> {
    return this.#checked().zRangeWithScores(key, start, stop)
  }
  zRem(key: string, members: string[]): Promise<unknown> {
    return this.#checked().zRem(key, members)
  }
  /**
   * @returns the clients whose SCANs together see every key: each master of a cluster, or the
   *   client itself
   */
  async scanned(): Promise<RedisStoreClient[]> {
    const client = this.#checked()
    const { masters } = client
    if (masters === undefined || typeof client.nodeClient !== 'function') return [client]
    return Promise.all(masters.map((master) => client.nodeClient!(master)))
  }
  /** One SCAN page from `node`, one of {@link DeadlineClient.scanned}'s clients. */
  scanOn(
    node: RedisStoreClient,
    cursor: string,
    options: { MATCH: string; COUNT: number; TYPE: string },
  ): Promise<{ cursor: unknown; keys: unknown[] }> {
    this.#checked()
    if (typeof node.scan !== 'function') {
      throw new Error('stats() needs SCAN, which this client does not have.')
    }
    return node.scan(cursor, options)
  }
}

/**
 * Creates a session store on Redis (or Valkey, or any server that speaks the Redis protocol)
 * through node-redis v5: one hash per session, with native expiry.
 *
 * @remarks
 * Key layout, for a prefix `p:`: the session `p:{<idHash>}` is a hash with the fields
 * `d:<key>` (user values, JSON), `s:<key>` (library fields, JSON; a key with U+0000 or an
 * unpaired surrogate is escaped, see `storable-key.ts`), `created`, `lastActive`,
 * `expires`, `owner` and `ownerUntil`; the owner index `p:owner:{<owner>}` is a sorted set of
 * id hashes. The braces are Redis Cluster hash tags: every command touches one key, so it works
 * on a cluster, but a session and its owner index live on different slots and are written by
 * separate commands. The index is written first and may briefly list a session that is not
 * there yet; it never misses a session that is. Its members are scored by `ownerUntil`, and each
 * write to an index drops the members ten minutes past theirs (the app servers' clocks must agree
 * within that), and `delete` takes its session out: it holds the owner's recent sessions, not
 * one member per login ever made.
 *
 * A patch or a touch is one round trip: a Lua script (EVALSHA) checks that the record still
 * exists and has not expired (so a slow request never resurrects a deleted session), applies
 * the field changes with HSET/HDEL and moves the native expiry with `PEXPIRE`. A session with
 * an owner costs one or two more round trips when its owner changes, and when its expiry moves
 * past the lifetime of its owner index (about once per idle timeout).
 *
 * Native TTLs are computed from the store's clock (`PEXPIRE expires - now()`), so they do not
 * depend on the Redis server's clock; `get` also checks `expires` itself. Redis 6.2 or later
 * (tested with 7.0).
 *
 * @param options the client (or a URL), the key prefix and the timeout
 * @returns the store
 * @throws {@link ConfigError} when neither or both of `client` and `url` are given, or an option
 * is invalid
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * import { createRedisStore } from 'cloakroom/redis'
 * const client = createClient({ url: process.env.REDIS_URL })
 * client.on('error', (error) => console.error('redis', error))
 * await client.connect()
 * const store = createRedisStore({ client, prefix: 'myapp:session:' })
 * ```
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  if ((options.client === undefined) === (options.url === undefined)) {
    throw new ConfigError('client', 'give either a connected node-redis client or a url, not both.')
  }
  if (options.url !== undefined && (typeof options.url !== 'string' || options.url === '')) {
    throw new ConfigError('url', 'expected a redis:// or rediss:// URL.')
  }
  const prefix = options.prefix ?? 'cloakroom:'
  if (typeof prefix !== 'string') throw new ConfigError('prefix', 'expected a string.')
  const timeoutMs = positiveInteger('commandTimeoutMs', options.commandTimeoutMs, 2000)
  const now = options.now ?? Date.now
  if (typeof now !== 'function')
    throw new ConfigError('now', 'expected a function returning milliseconds.')
  const onError =
    options.onError ??
    ((error: unknown) => {
      console.error(`cloakroom/redis: ${error instanceof Error ? error.message : String(error)}`)
    })
  const holder = holdClient(options, onError)

  const sessionKey = (idHash: string): string => `${prefix}{${idHash}}`
  const ownerKey = (owner: string): string => `${prefix}owner:{${owner}}`

  const call = createStoreCaller(timeoutMs, 'Redis server')
  /**
   * Runs one store operation under the deadline; any failure becomes StoreUnavailableError.
   * After the deadline, the operation's remaining commands are not sent.
   */
  const run = <T>(operation: string, body: (client: DeadlineClient) => Promise<T>): Promise<T> =>
    call(`redis ${operation}`, async (deadline) => {
      const pick = await holder.client()
      return body(new DeadlineClient(pick, deadline))
    })

  const evaluate = async (
    client: RedisStoreClient,
    { source, sha1 }: Script,
    key: string,
    args: string[],
  ): Promise<unknown> => {
    const call = { keys: [key], arguments: args }
    try {
      return await client.evalSha(sha1, call)
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return client.eval(source, call)
    }
  }

  const ttlOf = (expires: number, time: number): string =>
    String(Math.max(1, Math.ceil(expires - time)))

  /** Indexes `idHash` under `owner` until `until` (its `ownerUntil`); see the INDEX script. */
  const index = (
    client: RedisStoreClient,
    owner: string,
    idHash: string,
    until: number,
    time: number,
  ): Promise<unknown> =>
    evaluate(client, INDEX, ownerKey(owner), [
      idHash,
      String(until),
      ttlOf(until, time),
      String(time - INDEX_GRACE_MS),
    ])

  /**
   * Keeps the owner index alive at least until `expires`: the index outlives its sessions by
   * one more lifetime, and each session remembers (`ownerUntil`) how long its index lives, so
   * most writes need no second round trip.
   */
  const keepIndex = async (
    client: RedisStoreClient,
    idHash: string,
    owner: string,
    ownerUntil: number,
    expires: number,
    time: number,
  ): Promise<void> => {
    if (ownerUntil >= expires) return
    const until = expires + (expires - time)
    await index(client, owner, idHash, until, time)
    await evaluate(client, WRITE, sessionKey(idHash), [
      String(time),
      ttlOf(expires, time),
      'patch',
      '0',
      'ownerUntil',
      String(until),
    ])
  }

  /** Writes a record; `owner` undefined keeps the stored owner, null removes it. */
  const write = async (
    client: RedisStoreClient,
    idHash: string,
    mode: 'patch' | 'replace' | 'replace-if-exists',
    fields: { deleted: string[]; set: string[] },
    expires: number,
    owner: string | null | undefined,
  ): Promise<boolean> => {
    const time = now()
    const ttl = ttlOf(expires, time)
    const deleted = [...fields.deleted]
    const set = [...fields.set]
    let until = 0
    if (typeof owner === 'string') {
      // Index first: the index may list a session that is not written yet, never miss one.
      until = expires + (expires - time)
      await index(client, owner, idHash, until, time)
      set.push('owner', owner, 'ownerUntil', String(until))
    } else if (owner === null) {
      deleted.push('owner', 'ownerUntil')
    }
    const reply = scriptReply(
      await evaluate(client, WRITE, sessionKey(idHash), [
        String(time),
        ttl,
        mode,
        String(deleted.length),
        ...deleted,
        ...set,
      ]),
    )
    const previous = reply.owner
    if (!reply.written) {
      if (typeof owner === 'string') await client.zRem(ownerKey(owner), [idHash])
      return false
    }
    if (previous !== '' && previous !== owner && (owner !== undefined || mode !== 'patch')) {
      await client.zRem(ownerKey(previous), [idHash])
      // Another writer may have given the session back to `previous` since this write (it
      // indexes first, then writes): the removal above may have taken its entry, so it goes
      // back. An entry too many is filtered out when read; a missing one would escape revocation.
      const [current, currentUntil] = (await client.hmGet(sessionKey(idHash), [
        'owner',
        'ownerUntil',
      ])) as (string | null)[]
      if (current === previous && currentUntil != null) {
        await index(client, previous, idHash, Number(currentUntil), now())
      }
    } else if (owner === undefined && mode === 'patch' && previous !== '') {
      await keepIndex(client, idHash, previous, reply.ownerUntil, expires, time)
    }
    return true
  }

  const encodeFields = (
    record: Pick<StoredSession, 'data' | 'system' | 'created' | 'lastActive' | 'expires'>,
  ): string[] => {
    const set = [
      'created',
      String(record.created),
      'lastActive',
      String(record.lastActive),
      'expires',
      String(record.expires),
    ]
    for (const key of Object.keys(record.data))
      set.push(DATA + toStorableKey(key), JSON.stringify(record.data[key]))
    for (const key of Object.keys(record.system))
      set.push(SYSTEM + toStorableKey(key), JSON.stringify(record.system[key]))
    return set
  }

  /**
   * Removes entries read from an owner index as stale, unless indexed again since they were read:
   * the session may have been given back to the owner meanwhile (a plain ZREM would then take
   * the new entry, and the session would escape `deleteByOwner` for good).
   */
  const unindexUnchanged = async (
    client: RedisStoreClient,
    owner: string,
    entries: readonly { idHash: string; until: number }[],
  ): Promise<void> => {
    if (entries.length === 0) return
    const args = entries.flatMap(({ idHash, until }) => [idHash, String(until)])
    await evaluate(client, UNINDEX_UNCHANGED, ownerKey(owner), args)
  }

  /** Reads an owner index: each member with its score, the `ownerUntil` it was indexed with. */
  const readIndex = async (
    client: RedisStoreClient,
    owner: string,
  ): Promise<{ idHash: string; until: number }[]> => {
    const reply = (await client.zRangeWithScores(ownerKey(owner), 0, -1)) as {
      value: string
      score: number
    }[]
    return reply.map(({ value, score }) => ({ idHash: String(value), until: Number(score) }))
  }

  return {
    get(idHash) {
      return run('get', async (client) => {
        const fields = toRecord(await client.hGetAll(sessionKey(idHash)))
        const record = decodeRecord(fields)
        if (record === undefined) return undefined
        if (record.expires <= now()) {
          await client.del(sessionKey(idHash))
          return undefined
        }
        return record
      })
    },

    set(idHash, record, setOptions) {
      return run('set', (client) =>
        write(
          client,
          idHash,
          setOptions?.onlyIfExists === true ? 'replace-if-exists' : 'replace',
          { deleted: [], set: encodeFields(record) },
          record.expires,
          record.owner ?? null,
        ),
      )
    },

    patch(idHash, patch: SessionPatch) {
      return run('patch', (client) => {
        const deleted: string[] = []
        const set = ['lastActive', String(patch.lastActive), 'expires', String(patch.expires)]
        for (const key of patch.data.deleted) deleted.push(DATA + toStorableKey(key))
        for (const key of patch.system.deleted) deleted.push(SYSTEM + toStorableKey(key))
        for (const [key, value] of patch.data.set)
          set.push(DATA + toStorableKey(key), JSON.stringify(value))
        for (const [key, value] of patch.system.set)
          set.push(SYSTEM + toStorableKey(key), JSON.stringify(value))
        return write(client, idHash, 'patch', { deleted, set }, patch.expires, patch.owner)
      })
    },

    touch(idHash, lastActive, expires) {
      return run('touch', async (client) => {
        const time = now()
        const reply = scriptReply(
          await evaluate(client, TOUCH, sessionKey(idHash), [
            String(time),
            ttlOf(expires, time),
            String(lastActive),
            String(expires),
          ]),
        )
        if (!reply.written) return false
        if (reply.owner !== '')
          await keepIndex(client, idHash, reply.owner, reply.ownerUntil, expires, time)
        return true
      })
    },

    delete(idHash) {
      return run('delete', async (client) => {
        const [owner, until] = (await evaluate(client, DELETE, sessionKey(idHash), [])) as [
          string,
          string,
        ]
        // The owner index would list it until its ownerUntil: a user who logs in and out all
        // day would make every listSessions read each of those sessions. Best effort: the
        // session is gone, and an entry left behind is dropped when the index is read.
        if (owner !== '' && until !== '') {
          await unindexUnchanged(client, String(owner), [{ idHash, until: Number(until) }]).catch(
            () => undefined,
          )
        }
      })
    },

    listByOwner(owner) {
      return run('listByOwner', async (client) => {
        const time = now()
        const entries = await readIndex(client, owner)
        const rows = await Promise.all(
          entries.map(({ idHash }) =>
            client.hmGet(sessionKey(idHash), ['owner', 'created', 'lastActive', 'expires']),
          ),
        )
        const sessions: StoredSessionSummary[] = []
        const stale: { idHash: string; until: number }[] = []
        entries.forEach(({ idHash, until }, index) => {
          const [storedOwner, created, lastActive, expires] = rows[index] as (string | null)[]
          if (storedOwner === owner && Number(expires) > time) {
            sessions.push({
              idHash,
              created: Number(created),
              lastActive: Number(lastActive),
              expires: Number(expires),
            })
          } else if (storedOwner === owner || until < time - INDEX_GRACE_MS) {
            stale.push({ idHash, until })
          }
        })
        await unindexUnchanged(client, owner, stale)
        return sessions.sort((a, b) => a.created - b.created)
      })
    },

    deleteByOwner(owner, exceptIdHash) {
      return run('deleteByOwner', async (client) => {
        const time = now()
        const entries = (await readIndex(client, owner)).filter(
          ({ idHash }) => idHash !== exceptIdHash,
        )
        const results = await Promise.all(
          entries.map(({ idHash }) =>
            evaluate(client, DELETE_OWNED, sessionKey(idHash), [owner, String(time)]),
          ),
        )
        const removed: { idHash: string; until: number }[] = []
        let count = 0
        entries.forEach((entry, index) => {
          const result = Number(results[index])
          if (result === 2) count++
          if (result > 0 || entry.until < time - INDEX_GRACE_MS) removed.push(entry)
        })
        await unindexUnchanged(client, owner, removed)
        return count
      })
    },

    async stats() {
      // Session keys are `<prefix>{<idHash>}`; owner indexes (`<prefix>owner:{...}`) do not match.
      const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}{*}`
      const tally = new StatsTally(now())
      const scanned = await run('stats', (client) => client.scanned())
      for (const node of scanned) {
        let cursor = '0'
        do {
          const replies = await run('stats', async (client) => {
            const page = await client.scanOn(node, cursor, {
              MATCH: match,
              COUNT: SCAN_COUNT,
              TYPE: 'hash',
            })
            cursor = String(page.cursor)
            return Promise.all(page.keys.map((key) => client.hGetAll(String(key))))
          })
          for (const reply of replies) {
            let record: StoredSession | undefined
            try {
              record = decodeRecord(toRecord(reply))
            } catch {
              continue // a hash under the prefix that is not a session
            }
            if (record !== undefined) tally.add(record)
          }
        } while (cursor !== '0')
      }
      return tally.result()
    },

    close() {
      return holder.close()
    },
  }
}
