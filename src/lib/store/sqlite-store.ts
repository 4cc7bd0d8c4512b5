import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { ConfigError, StoreUnavailableError } from '../errors.js'
import type { JsonValue } from '../session/serializer.js'
import type {
  PruneOptions,
  SessionPatch,
  SessionStore,
  StoreStats,
  StoredNamespacePatch,
  StoredSession,
  StoredSessionSummary,
} from './session-store.js'

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * A `better-sqlite3` database, or the file name of one to open (created if missing, and its
   * missing parent directories with mode 0700). A store that opens the file itself turns on WAL
   * mode and closes it in `close()`; with a database of your own, turn on WAL yourself
   * (`db.pragma('journal_mode = WAL')`) for concurrent readers.
   */
  readonly database: Database.Database | string
  /**
   * The table that holds the sessions; created, with its indexes, on first use. The same name as
   * the PostgreSQL store's option and the CLI's `--table`.
   * @defaultValue `'cloakroom_sessions'`
   */
  readonly table?: string
  /**
   * The former name of {@link SqliteStoreOptions.table}, still accepted.
   * @deprecated Use `table`.
   */
  readonly tableName?: string
  /**
   * Create the table and its indexes on first use (`IF NOT EXISTS`). Turn it off when migrations
   * create them, or to open a database strictly for reading, as `npx cloakroom stats` does.
   * @defaultValue true
   */
  readonly createTable?: boolean
  /**
   * How long a write waits for another process's lock before failing with
   * {@link StoreUnavailableError}, in milliseconds. `better-sqlite3` waits synchronously: the
   * wait blocks this process's event loop, and the factory's `storeTimeout` cannot cut it short,
   * so this is the longest a lock held elsewhere can stall every request of the process. The
   * default matches the factory's default `storeTimeout`. Applied to a database of your own only
   * when it has no busy timeout yet.
   * @defaultValue 2000
   */
  readonly busyTimeoutMs?: number
  /**
   * The clock, in milliseconds since the epoch.
   * @defaultValue `Date.now`
   */
  readonly now?: () => number
}

/** The SQLite store: a {@link SessionStore} with `prune()`, `stats()` and `close()`. */
export interface SqliteStore extends SessionStore {
  /**
   * Deletes expired sessions, `batchSize` rows per statement (default 1000), letting the event
   * loop run between batches; run it now and then (SQLite has no native expiry).
   * @param options the batch size and a progress callback
   * @returns how many sessions were deleted
   * @throws {@link ConfigError} when `batchSize` is not a whole number greater than 0
   */
  prune(options?: PruneOptions): Promise<number>
  /**
   * Counts live and expired rows and finds the oldest and largest live session (one scan of the
   * table; it writes nothing).
   * @returns the statistics
   */
  stats(): Promise<StoreStats>
  /** Closes the database when the store opened it; a database of your own stays open. */
  close(): Promise<void>
}

interface Row {
  data: string
  system: string
  created: number
  last_active: number
  expires: number
  owner: string | null
}

interface StatsRow {
  live: number
  expired: number
  oldest: number | null
  largest: number | null
}

interface SummaryRow {
  id_hash: string
  created: number
  last_active: number
  expires: number
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
/** Key/value pairs per `json_set` call (SQLite caps function arguments at 127 in old builds). */
const PAIRS_PER_CALL = 50
/** Distinct patch shapes whose prepared statements are kept. */
const MAX_CACHED_PATCHES = 64

/**
 * Builds the SQL expression that applies one namespace's changes to a JSON column, one
 * `json_remove`/`json_set` per 50 keys. Paths quote the key as a JSON string, which SQLite's
 * path syntax accepts for any key.
 */
function namespaceExpression(column: string, removed: number, written: number): string {
  let expression = column
  for (let left = removed; left > 0; left -= PAIRS_PER_CALL) {
    expression = `json_remove(${expression}${', ?'.repeat(Math.min(left, PAIRS_PER_CALL))})`
  }
  for (let left = written; left > 0; left -= PAIRS_PER_CALL) {
    expression = `json_set(${expression}${', ?, json(?)'.repeat(Math.min(left, PAIRS_PER_CALL))})`
  }
  return expression
}

function namespaceParameters(patch: StoredNamespacePatch): string[] {
  const parameters: string[] = []
  for (const key of patch.deleted) parameters.push(`$.${JSON.stringify(key)}`)
  for (const [key, value] of patch.set)
    parameters.push(`$.${JSON.stringify(key)}`, JSON.stringify(value))
  return parameters
}

/**
 * Creates a store that keeps sessions in one SQLite file through `better-sqlite3` (version 12):
 * durable, no server to run, and safe for several processes on one machine.
 *
 * @remarks
 * One row per session (record key, data and library fields as JSON, times, owner). A patch is a
 * single `UPDATE ... WHERE id_hash = ?` that applies `json_set`/`json_remove` to only the keys
 * the request changed, so concurrent requests (from any process) that change different keys all
 * keep their changes. WAL mode lets readers run beside a writer, and a busy timeout makes writers
 * wait for each other instead of failing. `better-sqlite3` is synchronous: each call blocks the
 * event loop for the duration of one statement (microseconds on a local disk), and a write that
 * waits for another process's lock blocks it for up to `busyTimeoutMs`.
 *
 * @param options the database and table
 * @returns the store
 * @throws {@link ConfigError} when an option is invalid or the file cannot be opened
 *
 * @example
 * ```ts
 * import { createStoreFactory } from 'cloakroom'
 * import { createSqliteStore } from 'cloakroom/sqlite'
 * const factory = createStoreFactory({ store: createSqliteStore({ database: './.data/sessions.db' }) })
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  if (
    options.table !== undefined &&
    options.tableName !== undefined &&
    options.table !== options.tableName
  ) {
    throw new ConfigError('table', 'tableName is its former name: give one of the two.')
  }
  const tableName = options.table ?? options.tableName ?? 'cloakroom_sessions'
  if (typeof tableName !== 'string' || !TABLE_NAME.test(tableName)) {
    throw new ConfigError(
      'table',
      'expected a letter or "_", then letters, digits or "_" (at most 63).',
    )
  }
  const createTable = options.createTable ?? true
  if (typeof createTable !== 'boolean') {
    throw new ConfigError('createTable', 'expected true or false.')
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 2000
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new ConfigError('busyTimeoutMs', 'expected a whole number of milliseconds >= 0.')
  }
  const now = options.now ?? Date.now
  if (typeof now !== 'function')
    throw new ConfigError('now', 'expected a function returning milliseconds.')

  const ownsDatabase = typeof options.database === 'string'
  let db: Database.Database
  if (typeof options.database === 'string') {
    try {
      // A file name (not ':memory:', '' or a `file:` URI): its directory is made like the file
      // store's, so `./.data/sessions.db` works on a fresh checkout.
      if (!['', ':memory:'].includes(options.database) && !options.database.startsWith('file:')) {
        mkdirSync(dirname(resolve(options.database)), { recursive: true, mode: 0o700 })
      }
      db = new Database(options.database)
      db.pragma(`busy_timeout = ${busyTimeoutMs}`)
      if (!db.memory) db.pragma('journal_mode = WAL')
    } catch (error) {
      throw new ConfigError(
        'database',
        `cannot open ${options.database}: ${(error as Error).message}`,
      )
    }
  } else if (typeof options.database?.prepare === 'function') {
    db = options.database
  } else {
    throw new ConfigError('database', 'expected a better-sqlite3 Database or a file name.')
  }

  const table = `"${tableName}"`
  let statements: ReturnType<typeof prepare> | undefined
  const patches = new Map<string, Database.Statement<unknown[]>>()

  function prepare(): {
    get: Database.Statement<[string], Row>
    deleteExpired: Database.Statement<[string, number]>
    upsert: Database.Statement<unknown[]>
    replace: Database.Statement<unknown[]>
    touch: Database.Statement<[number, number, string, number]>
    remove: Database.Statement<[string]>
    listByOwner: Database.Statement<[string, number], SummaryRow>
    deleteByOwner: Database.Statement<[string, string | null]>
    countLiveByOwner: Database.Statement<[string, string | null, number], { n: number }>
    prune: Database.Statement<[number, number]>
    stats: Database.Statement<[{ now: number }], StatsRow>
  } {
    if (!ownsDatabase && db.pragma('busy_timeout', { simple: true }) === 0) {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    }
    if (createTable) {
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${table} (
        id_hash TEXT PRIMARY KEY NOT NULL,
        data TEXT NOT NULL,
        system TEXT NOT NULL,
        created INTEGER NOT NULL,
        last_active INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        owner TEXT
      );
      CREATE INDEX IF NOT EXISTS "${tableName}_owner" ON ${table} (owner) WHERE owner IS NOT NULL;
      CREATE INDEX IF NOT EXISTS "${tableName}_expires" ON ${table} (expires);`,
      )
    }
    const columns = 'data, system, created, last_active, expires, owner'
    return {
      get: db.prepare(`SELECT ${columns} FROM ${table} WHERE id_hash = ?`),
      deleteExpired: db.prepare(`DELETE FROM ${table} WHERE id_hash = ? AND expires <= ?`),
      upsert: db.prepare(
        `INSERT INTO ${table} (id_hash, ${columns}) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, system = excluded.system,
         created = excluded.created, last_active = excluded.last_active, expires = excluded.expires,
         owner = excluded.owner`,
      ),
      replace: db.prepare(
        `UPDATE ${table} SET data = ?, system = ?, created = ?, last_active = ?, expires = ?, owner = ?
         WHERE id_hash = ? AND expires > ?`,
      ),
      touch: db.prepare(
        `UPDATE ${table} SET last_active = ?, expires = ? WHERE id_hash = ? AND expires > ?`,
      ),
      remove: db.prepare(`DELETE FROM ${table} WHERE id_hash = ?`),
      listByOwner: db.prepare(
        `SELECT id_hash, created, last_active, expires FROM ${table} WHERE owner = ? AND expires > ?`,
      ),
      deleteByOwner: db.prepare(`DELETE FROM ${table} WHERE owner = ? AND id_hash IS NOT ?`),
      countLiveByOwner: db.prepare(
        `SELECT count(*) AS n FROM ${table} WHERE owner = ? AND id_hash IS NOT ? AND expires > ?`,
      ),
      prune: db.prepare(
        `DELETE FROM ${table} WHERE id_hash IN (SELECT id_hash FROM ${table} WHERE expires <= ? LIMIT ?)`,
      ),
      stats: db.prepare(
        `SELECT count(CASE WHEN expires > @now THEN 1 END) AS live,
           count(CASE WHEN expires <= @now THEN 1 END) AS expired,
           min(CASE WHEN expires > @now THEN created END) AS oldest,
           max(CASE WHEN expires > @now
             THEN length(CAST(data AS BLOB)) + length(CAST(system AS BLOB)) END) AS largest
         FROM ${table}`,
      ),
    }
  }

  /** Runs one synchronous database step, preparing the schema on first use. */
  const run = <T>(
    operation: string,
    step: (s: NonNullable<typeof statements>) => T,
  ): Promise<T> => {
    try {
      statements ??= prepare()
      return Promise.resolve(step(statements))
    } catch (error) {
      return Promise.reject(
        new StoreUnavailableError(`sqlite store ${operation}`, { cause: error }),
      )
    }
  }

  const patchStatement = (patch: SessionPatch): Database.Statement<unknown[]> => {
    const shape = [
      patch.data.deleted.size,
      patch.data.set.size,
      patch.system.deleted.size,
      patch.system.set.size,
    ]
    const key = `${shape.join(',')},${patch.owner === undefined ? 0 : 1}`
    let statement = patches.get(key)
    if (statement === undefined) {
      const ownerClause = patch.owner === undefined ? '' : ', owner = ?'
      statement = db.prepare(
        `UPDATE ${table} SET data = ${namespaceExpression('data', shape[0]!, shape[1]!)},
         system = ${namespaceExpression('system', shape[2]!, shape[3]!)},
         last_active = ?, expires = ?${ownerClause} WHERE id_hash = ? AND expires > ?`,
      )
      if (patches.size >= MAX_CACHED_PATCHES) patches.delete(patches.keys().next().value as string)
      patches.set(key, statement)
    }
    return statement
  }

  /** A stored namespace (JSON text of an object), or undefined when it is not one. */
  const parseNamespace = (text: string): Record<string, JsonValue> | undefined => {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return undefined
    }
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, JsonValue>)
      : undefined
  }

  const recordValues = (record: StoredSession): unknown[] => [
    JSON.stringify(record.data),
    JSON.stringify(record.system),
    record.created,
    record.lastActive,
    record.expires,
    record.owner ?? null,
  ]

  return {
    get(idHash) {
      return run('get', (s) => {
        const row = s.get.get(idHash)
        if (row === undefined) return undefined
        if (row.expires <= now()) {
          // Best effort: the answer is "no session" even when the row cannot go (a read-only
          // database); prune removes it later.
          try {
            s.deleteExpired.run(idHash, now())
          } catch {
            // left for prune
          }
          return undefined
        }
        const data = parseNamespace(row.data)
        const system = parseNamespace(row.system)
        // A row changed by hand into something else reads as no session, not as an outage.
        if (data === undefined || system === undefined) return undefined
        const record: StoredSession = {
          data,
          system,
          created: row.created,
          lastActive: row.last_active,
          expires: row.expires,
          ...(row.owner === null ? {} : { owner: row.owner }),
        }
        return record
      })
    },
    set(idHash, record, setOptions) {
      return run('set', (s) => {
        if (setOptions?.onlyIfExists === true) {
          return s.replace.run(...recordValues(record), idHash, now()).changes > 0
        }
        s.upsert.run(idHash, ...recordValues(record))
        return true
      })
    },
    patch(idHash, patch) {
      return run('patch', () => {
        const parameters: unknown[] = [
          ...namespaceParameters(patch.data),
          ...namespaceParameters(patch.system),
          patch.lastActive,
          patch.expires,
        ]
        if (patch.owner !== undefined) parameters.push(patch.owner)
        parameters.push(idHash, now())
        return patchStatement(patch).run(...parameters).changes > 0
      })
    },
    touch(idHash, lastActive, expires) {
      return run('touch', (s) => s.touch.run(lastActive, expires, idHash, now()).changes > 0)
    },
    delete(idHash) {
      return run('delete', (s) => void s.remove.run(idHash))
    },
    listByOwner(owner) {
      return run('listByOwner', (s) =>
        s.listByOwner.all(owner, now()).map((row): StoredSessionSummary => ({
          idHash: row.id_hash,
          created: row.created,
          lastActive: row.last_active,
          expires: row.expires,
        })),
      )
    },
    deleteByOwner(owner, exceptIdHash) {
      return run('deleteByOwner', (s) =>
        db
          .transaction(() => {
            const live = s.countLiveByOwner.get(owner, exceptIdHash ?? null, now())?.n ?? 0
            s.deleteByOwner.run(owner, exceptIdHash ?? null)
            return live
          })
          .immediate(),
      )
    },
    async prune(pruneOptions) {
      const batchSize = pruneOptions?.batchSize ?? 1000
      if (!Number.isInteger(batchSize) || batchSize <= 0) {
        throw new ConfigError('batchSize', 'expected a whole number greater than 0.')
      }
      let total = 0
      for (;;) {
        const deleted = await run('prune', (s) => s.prune.run(now(), batchSize).changes)
        total += deleted
        pruneOptions?.onProgress?.(total)
        if (deleted < batchSize) return total
        // better-sqlite3 is synchronous: let requests run between two batches.
        await nextTurn()
      }
    },
    stats() {
      return run('stats', (s) => {
        const row = s.stats.get({ now: now() })!
        const stats: StoreStats = {
          live: row.live,
          expired: row.expired,
          oldestCreated: row.oldest,
          largestBytes: row.largest,
        }
        return stats
      })
    },
    close() {
      if (ownsDatabase && db.open) db.close()
      return Promise.resolve()
    },
  }
}
