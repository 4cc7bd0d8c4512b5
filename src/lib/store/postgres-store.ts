import { hash } from 'node:crypto'
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg'
import { ConfigError } from '../errors.js'
import { setMember, type JsonValue } from '../session/serializer.js'
import { createStoreCaller, type CallDeadline } from './store-call.js'
import { fromStorableKey, toStorableKey } from './storable-key.js'
import { isNamespace } from './stored-record.js'
import type {
  PruneOptions,
  SessionStore,
  StoreStats,
  StoredSession,
  StoredSessionSummary,
} from './session-store.js'

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * A `pg` pool. The store adds an `'error'` listener to it, so a connection that drops while
   * idle (a server restart, `pg_terminate_backend`, a network cut) never crashes the process;
   * the pool replaces it on the next query. The store never ends the pool.
   */
  readonly pool: Pool
  /**
   * The schema of the sessions table.
   * @defaultValue `'public'`
   */
  readonly schema?: string
  /**
   * The name of the sessions table.
   * @defaultValue `'cloakroom_sessions'`
   */
  readonly table?: string
  /**
   * Create the schema, the table and its indexes on first use (`IF NOT EXISTS`, under an
   * advisory lock so several processes can start at once), unless the table already exists:
   * then nothing is run, so a role with only read and write grants works too. Turn it off when
   * migrations create them; {@link postgresSessionTableSQL} prints the statements.
   * @defaultValue true
   */
  readonly createTable?: boolean
  /**
   * How long one store operation may take, in milliseconds (waiting for a pooled connection
   * included), before it fails with {@link StoreUnavailableError}. It is also given to `pg` as
   * the query's `query_timeout`.
   * @defaultValue 2000
   */
  readonly queryTimeoutMs?: number
  /**
   * How many expired rows `prune()` deletes per statement.
   * @defaultValue 1000
   */
  readonly pruneBatchSize?: number
  /**
   * The clock, in milliseconds since the epoch; use the factory's. Expiry is checked against it.
   * @defaultValue `Date.now`
   */
  readonly now?: () => number
  /**
   * Told about errors of idle pooled connections (the pool drops the connection and opens a new
   * one when needed).
   * @defaultValue logs the error message with `console.error`
   */
  readonly onError?: (error: unknown) => void
}

/** The PostgreSQL store: a {@link SessionStore} with `prune()` and `stats()`. */
export interface PostgresStore extends SessionStore {
  /**
   * Deletes expired rows, in batches of `pruneBatchSize` (or `options.batchSize`), each under its
   * own `queryTimeoutMs`. Run it now and then (a timer, a cron job, `npx cloakroom prune`): reads
   * already ignore expired rows, so it only reclaims space.
   * @param options the batch size and a progress callback
   * @returns how many rows were deleted
   * @throws {@link ConfigError} when `batchSize` is not a whole number greater than 0
   */
  prune(options?: PruneOptions): Promise<number>
  /**
   * Counts live and expired rows and finds the oldest and largest live session, in one query
   * that scans the table (under `queryTimeoutMs`); it writes nothing.
   * @returns the statistics
   */
  stats(): Promise<StoreStats>
  /**
   * Stops reporting pool errors to this store's `onError`. The pool stays open (it is yours) and
   * keeps an `'error'` listener, so it still never crashes the process.
   */
  close(): Promise<void>
}

const MAX_IDENTIFIER_BYTES = 63

function identifier(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw new ConfigError(option, 'expected a non-empty SQL identifier without NUL characters.')
  }
  if (Buffer.byteLength(value) > MAX_IDENTIFIER_BYTES) {
    throw new ConfigError(
      option,
      `PostgreSQL identifiers hold at most ${MAX_IDENTIFIER_BYTES} bytes.`,
    )
  }
  return `"${value.replaceAll('"', '""')}"`
}

/**
 * The name of one of a table's indexes: `<table>_<suffix>`, or, when that is over 63 bytes, the
 * table name cut (by bytes, at a character boundary) and followed by a hash of the whole name, so
 * two long names sharing a prefix never share an index name.
 */
function indexName(tableName: string, suffix: string): string {
  const whole = `${tableName}_${suffix}`
  if (Buffer.byteLength(whole) <= MAX_IDENTIFIER_BYTES) return whole
  const tag = hash('sha256', tableName, 'hex').slice(0, 8)
  const characters = Array.from(tableName)
  let head = ''
  for (const character of characters) {
    if (Buffer.byteLength(`${head}${character}_${tag}_${suffix}`) > MAX_IDENTIFIER_BYTES) break
    head += character
  }
  return `${head}_${tag}_${suffix}`
}

function positiveInteger(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(option, 'expected a whole number greater than 0.')
  }
  return value
}

/**
 * The statements that create the sessions table and its indexes, for a migration tool.
 *
 * @param options the schema and the table name
 * @returns the SQL statements, separated by `;`
 * @throws {@link ConfigError} when a name is not a valid identifier
 *
 * @example
 * ```ts
 * console.log(postgresSessionTableSQL({ schema: 'auth', table: 'sessions' }))
 * ```
 */
export function postgresSessionTableSQL(
  options: Pick<PostgresStoreOptions, 'schema' | 'table'> = {},
): string {
  const schemaName = options.schema ?? 'public'
  const tableName = options.table ?? 'cloakroom_sessions'
  const schema = identifier('schema', schemaName)
  const table = `${schema}.${identifier('table', tableName)}`
  const index = (suffix: string): string => identifier('table', indexName(tableName, suffix))
  return [
    `CREATE SCHEMA IF NOT EXISTS ${schema}`,
    `CREATE TABLE IF NOT EXISTS ${table} (
  id_hash text PRIMARY KEY,
  data jsonb NOT NULL,
  system jsonb NOT NULL,
  created bigint NOT NULL,
  last_active bigint NOT NULL,
  expires bigint NOT NULL,
  owner text
)`,
    `CREATE INDEX IF NOT EXISTS ${index('owner_idx')} ON ${table} (owner) WHERE owner IS NOT NULL`,
    `CREATE INDEX IF NOT EXISTS ${index('expires_idx')} ON ${table} (expires)`,
  ].join(';\n')
}

interface SessionRow {
  data: Record<string, JsonValue>
  system: Record<string, JsonValue>
  created: string
  last_active: string
  expires: string
  owner: string | null
}

/**
 * The key of a wrapped value: `{"\u0001json": "<JSON text>"}` stands for the value that JSON
 * text encodes. `jsonb` refuses strings with U+0000 or an unpaired surrogate (anywhere inside a
 * value, object keys included); such a value is stored as its JSON text, where both are escapes.
 * A value that is itself an object with this key is wrapped too, so reading is unambiguous.
 */
const WRAPPED = '\u0001json'

/** The escapes `JSON.stringify` writes for U+0000 and unpaired surrogates (and a few look-alikes). */
const JSONB_REFUSES = /\\u(?:0000|d[89a-f])/i

function needsWrapping(value: JsonValue): boolean {
  return (
    (isNamespace(value) && Object.hasOwn(value, WRAPPED)) ||
    JSONB_REFUSES.test(JSON.stringify(value))
  )
}

/** A namespace's entries as a `jsonb` object text, keys escaped and values wrapped as needed. */
function jsonObject(entries: Iterable<readonly [string, JsonValue]>): string {
  const object: Record<string, JsonValue> = {}
  let wrap = false
  for (const [key, value] of entries) {
    setMember(object, toStorableKey(key), value)
    if (isNamespace(value) && Object.hasOwn(value, WRAPPED)) wrap = true
  }
  const text = JSON.stringify(object)
  if (!wrap && !JSONB_REFUSES.test(text)) return text
  for (const key of Object.keys(object)) {
    const value = object[key]!
    if (needsWrapping(value)) setMember(object, key, { [WRAPPED]: JSON.stringify(value) })
  }
  return JSON.stringify(object)
}

/**
 * Reads a namespace written by {@link jsonObject}.
 *
 * @param value the column's value
 * @returns the namespace, or undefined when the column holds something else (changed by hand):
 *   the record then reads as no session, as in the other stores, rather than failing every
 *   request that carries its cookie
 */
function namespaceOf(value: unknown): Record<string, JsonValue> | undefined {
  if (!isNamespace(value)) return undefined
  const namespace: Record<string, JsonValue> = {}
  for (const stored of Object.keys(value)) {
    const item = value[stored]!
    const wrapped = isNamespace(item) ? item[WRAPPED] : undefined
    let member: JsonValue = item
    if (typeof wrapped === 'string') {
      try {
        member = JSON.parse(wrapped) as JsonValue
      } catch {
        return undefined
      }
    }
    setMember(namespace, fromStorableKey(stored), member)
  }
  return namespace
}

/** Sends one query on a pooled connection, within its operation's deadline. */
type Query = <R extends QueryResultRow>(text: string, values: unknown[]) => Promise<QueryResult<R>>

/** The `onError` handlers of the stores on each pool; a pool gets one `'error'` listener. */
const poolHandlers = new WeakMap<Pool, Set<(error: unknown) => void>>()

function logPoolError(error: unknown): void {
  console.error(`cloakroom/postgres: ${error instanceof Error ? error.message : String(error)}`)
}

/** A pooled connection taken out of the pool, and how to give it back. */
interface CheckedOut {
  readonly client: PoolClient
  /**
   * Gives the connection back, or closes it when it failed (an error thrown by a query, or the
   * connection's own `error` event while it was out).
   */
  readonly release: (failure?: unknown) => void
}

/**
 * Takes a connection out of the pool, listening for its `error` event while it is out. The pool
 * listens only to idle connections: one that drops in the middle of a query (a network cut, a
 * proxy restart, a failover) emits `error` on the client, and with no listener that event would
 * crash the process. The query itself fails with the same error, so the listener only remembers
 * that the connection must not be reused.
 *
 * @param pool the pool
 * @returns the connection and its release
 */
async function checkOut(pool: Pool): Promise<CheckedOut> {
  const client = await pool.connect()
  let broken: Error | undefined
  const onError = (error: Error): void => {
    broken ??= error
  }
  client.on('error', onError)
  return {
    client,
    release: (failure) => {
      client.removeListener('error', onError)
      const reason = broken ?? failure
      client.release(reason === undefined ? undefined : reason instanceof Error ? reason : true)
    },
  }
}

function listenForErrors(pool: Pool, handler: (error: unknown) => void): void {
  let handlers = poolHandlers.get(pool)
  if (handlers === undefined) {
    const registered = new Set<(error: unknown) => void>()
    handlers = registered
    poolHandlers.set(pool, registered)
    // Stays after every store is closed: the pool must never crash the process.
    pool.on('error', (error) => {
      if (registered.size === 0) logPoolError(error)
      for (const each of registered) each(error)
    })
  }
  handlers.add(handler)
}

/**
 * Creates a session store on PostgreSQL through `pg`: one row per session, data as JSONB.
 *
 * @remarks
 * Columns: `id_hash` (primary key), `data` and `system` (JSONB objects), `created`,
 * `last_active` and `expires` (milliseconds since the epoch, from the store's clock, so app
 * servers and database need not agree on the time) and `owner` (indexed). A patch is one
 * `UPDATE ... SET data = (data - deleted_keys) || set_values ... WHERE id_hash = $1 AND
 * expires > now`: row-level atomic, so concurrent patches of different keys all survive, and a
 * deleted or expired session is never brought back. PostgreSQL has no native expiry: reads skip
 * expired rows and `prune()` deletes them.
 *
 * JSONB does not keep the order of keys, and cannot hold the character U+0000 in a string
 * (such a value makes the write fail).
 *
 * @param options the pool, the table and the timeout
 * @returns the store
 * @throws {@link ConfigError} when the pool is missing or a name or number is invalid
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createPostgresStore } from 'cloakroom/postgres'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const store = createPostgresStore({ pool })
 * setInterval(() => void store.prune(), 15 * 60_000).unref()
 * ```
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  const pool = options.pool
  if (
    typeof pool?.query !== 'function' ||
    typeof pool.connect !== 'function' ||
    typeof pool.on !== 'function'
  ) {
    throw new ConfigError('pool', 'expected a pg Pool.')
  }
  const table = `${identifier('schema', options.schema ?? 'public')}.${identifier(
    'table',
    options.table ?? 'cloakroom_sessions',
  )}`
  const setup = postgresSessionTableSQL(options)
  const createTable = options.createTable ?? true
  if (typeof createTable !== 'boolean')
    throw new ConfigError('createTable', 'expected true or false.')
  const timeoutMs = positiveInteger('queryTimeoutMs', options.queryTimeoutMs, 2000)
  const batchSize = positiveInteger('pruneBatchSize', options.pruneBatchSize, 1000)
  const clock = options.now ?? Date.now
  if (typeof clock !== 'function')
    throw new ConfigError('now', 'expected a function returning milliseconds.')
  /** Times are `bigint` columns, which refuse a fraction: a clock may have one. */
  const now = (): number => Math.floor(clock())
  const onError = options.onError ?? logPoolError
  if (typeof onError !== 'function') throw new ConfigError('onError', 'expected a function.')
  const reportError = (error: unknown): void => onError(error)
  listenForErrors(pool, reportError)

  let ready: Promise<void> | undefined
  const ensureTable = (): Promise<void> => {
    if (!createTable) return Promise.resolve()
    ready ??= (async () => {
      const { client, release } = await checkOut(pool)
      try {
        // PostgreSQL checks the CREATE privilege before IF NOT EXISTS: an app role without it
        // would fail on a table that is there.
        const found = await client.query<{ present: boolean }>(
          'SELECT to_regclass($1) IS NOT NULL AS present',
          [table],
        )
        if (found.rows[0]?.present === true) {
          release()
          return
        }
        await client.query('BEGIN')
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`cloakroom:${table}`])
        await client.query(setup)
        await client.query('COMMIT')
        release()
      } catch (error) {
        release(error)
        throw error
      }
    })().catch((error: unknown) => {
      ready = undefined
      throw error
    })
    return ready
  }

  const call = createStoreCaller(timeoutMs, 'PostgreSQL server')
  let tableReady = !createTable

  /**
   * The query function of one operation. It takes a pooled connection itself (rather than
   * `pool.query`) to check the deadline once it has one: a query still waiting for a connection
   * when its operation timed out is never sent, so a write the request gave up on (and reported
   * as failed) cannot land later.
   */
  const queryWithin =
    (deadline: CallDeadline) =>
    async <R extends QueryResultRow>(text: string, values: unknown[]): Promise<QueryResult<R>> => {
      const { client, release } = await checkOut(pool)
      if (deadline.expired) {
        release()
        throw new Error('The operation timed out before this query was sent.')
      }
      try {
        const result = await client.query<R>({ text, values, query_timeout: timeoutMs } as {
          text: string
          values: unknown[]
        })
        release()
        return result
      } catch (error) {
        // As pool.query does: a connection whose query failed is not reused.
        release(error)
        throw error
      }
    }

  /** Runs one operation under the deadline; any failure becomes StoreUnavailableError. */
  const run = <T>(operation: string, body: (query: Query) => Promise<T>): Promise<T> =>
    call(`postgres ${operation}`, async (deadline) => {
      if (!tableReady) {
        await ensureTable()
        tableReady = true
      }
      return body(queryWithin(deadline))
    })

  const columns = 'data, system, created, last_active, expires, owner'

  return {
    get(idHash) {
      return run('get', async (query) => {
        const { rows } = await query<SessionRow>(
          `SELECT ${columns} FROM ${table} WHERE id_hash = $1`,
          [idHash],
        )
        const row = rows[0]
        if (row === undefined) return undefined
        const time = now()
        if (Number(row.expires) <= time) {
          await query(`DELETE FROM ${table} WHERE id_hash = $1 AND expires <= $2`, [idHash, time])
          return undefined
        }
        const data = namespaceOf(row.data)
        const system = namespaceOf(row.system)
        if (data === undefined || system === undefined) return undefined
        const record: StoredSession = {
          data,
          system,
          created: Number(row.created),
          lastActive: Number(row.last_active),
          expires: Number(row.expires),
          ...(row.owner === null ? {} : { owner: row.owner }),
        }
        return record
      })
    },

    set(idHash, record, setOptions) {
      return run('set', async (query) => {
        const values = [
          idHash,
          jsonObject(Object.entries(record.data)),
          jsonObject(Object.entries(record.system)),
          Math.floor(record.created),
          Math.floor(record.lastActive),
          Math.floor(record.expires),
          record.owner ?? null,
        ]
        if (setOptions?.onlyIfExists === true) {
          const { rowCount } = await query(
            `UPDATE ${table} SET data = $2::jsonb, system = $3::jsonb, created = $4, last_active = $5,
               expires = $6, owner = $7 WHERE id_hash = $1 AND expires > $8`,
            [...values, now()],
          )
          return rowCount === 1
        }
        await query(
          `INSERT INTO ${table} (id_hash, ${columns}) VALUES ($1, $2::jsonb, $3::jsonb, $4, $5, $6, $7)
           ON CONFLICT (id_hash) DO UPDATE SET data = EXCLUDED.data, system = EXCLUDED.system,
             created = EXCLUDED.created, last_active = EXCLUDED.last_active,
             expires = EXCLUDED.expires, owner = EXCLUDED.owner`,
          values,
        )
        return true
      })
    },

    patch(idHash, patch) {
      return run('patch', async (query) => {
        const ownerChanged = patch.owner !== undefined
        const { rowCount } = await query(
          `UPDATE ${table} SET
             data = (data - $2::text[]) || $3::jsonb,
             system = (system - $4::text[]) || $5::jsonb,
             last_active = $6, expires = $7,
             owner = CASE WHEN $8::boolean THEN $9::text ELSE owner END
           WHERE id_hash = $1 AND expires > $10`,
          [
            idHash,
            Array.from(patch.data.deleted, toStorableKey),
            jsonObject(patch.data.set),
            Array.from(patch.system.deleted, toStorableKey),
            jsonObject(patch.system.set),
            Math.floor(patch.lastActive),
            Math.floor(patch.expires),
            ownerChanged,
            patch.owner ?? null,
            now(),
          ],
        )
        return rowCount === 1
      })
    },

    touch(idHash, lastActive, expires) {
      return run('touch', async (query) => {
        const { rowCount } = await query(
          `UPDATE ${table} SET last_active = $2, expires = $3 WHERE id_hash = $1 AND expires > $4`,
          [idHash, Math.floor(lastActive), Math.floor(expires), now()],
        )
        return rowCount === 1
      })
    },

    delete(idHash) {
      return run('delete', async (query) => {
        await query(`DELETE FROM ${table} WHERE id_hash = $1`, [idHash])
      })
    },

    listByOwner(owner) {
      return run('listByOwner', async (query) => {
        const { rows } = await query<{
          id_hash: string
          created: string
          last_active: string
          expires: string
        }>(
          `SELECT id_hash, created, last_active, expires FROM ${table}
           WHERE owner = $1 AND expires > $2 ORDER BY created, id_hash`,
          [owner, now()],
        )
        return rows.map((row): StoredSessionSummary => ({
          idHash: row.id_hash,
          created: Number(row.created),
          lastActive: Number(row.last_active),
          expires: Number(row.expires),
        }))
      })
    },

    deleteByOwner(owner, exceptIdHash) {
      return run('deleteByOwner', async (query) => {
        const { rows } = await query<{ count: string }>(
          `WITH gone AS (
             DELETE FROM ${table} WHERE owner = $1 AND ($2::text IS NULL OR id_hash <> $2) RETURNING expires
           ) SELECT count(*) FILTER (WHERE expires > $3) AS count FROM gone`,
          [owner, exceptIdHash ?? null, now()],
        )
        return Number(rows[0]?.count ?? 0)
      })
    },

    close() {
      poolHandlers.get(pool)?.delete(reportError)
      return Promise.resolve()
    },

    async prune(pruneOptions) {
      const size = positiveInteger('batchSize', pruneOptions?.batchSize, batchSize)
      let total = 0
      for (;;) {
        const deleted = await run('prune', async (query) => {
          const { rowCount } = await query(
            `DELETE FROM ${table} WHERE id_hash IN (
               SELECT id_hash FROM ${table} WHERE expires <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
             )`,
            [now(), size],
          )
          return rowCount ?? 0
        })
        total += deleted
        pruneOptions?.onProgress?.(total)
        if (deleted < size) return total
      }
    },

    stats() {
      return run('stats', async (query) => {
        const live = 'expires > $1'
        const { rows } = await query<{
          live: string
          expired: string
          oldest: string | null
          largest: string | null
        }>(
          `SELECT count(*) FILTER (WHERE ${live}) AS live,
             count(*) FILTER (WHERE NOT (${live})) AS expired,
             min(created) FILTER (WHERE ${live}) AS oldest,
             max(octet_length(data::text) + octet_length(system::text)) FILTER (WHERE ${live}) AS largest
           FROM ${table}`,
          [now()],
        )
        const row = rows[0]!
        const stats: StoreStats = {
          live: Number(row.live),
          expired: Number(row.expired),
          oldestCreated: row.oldest === null ? null : Number(row.oldest),
          largestBytes: row.largest === null ? null : Number(row.largest),
        }
        return stats
      })
    },
  }
}
