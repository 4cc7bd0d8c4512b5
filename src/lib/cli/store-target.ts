import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError } from '../errors.js'
import type { SessionStore } from '../store/session-store.js'
import { EXIT_FAILURE, EXIT_USAGE, type CliIO, type OptionValue } from './command.js'

/** A store named by `--store`, parsed but not opened. `label` is safe to print (no password). */
export type StoreTarget =
  | { readonly kind: 'sqlite'; readonly path: string; readonly label: string }
  | { readonly kind: 'file'; readonly dir: string; readonly label: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly label: string }
  | { readonly kind: 'redis'; readonly url: string; readonly label: string }

/** The store options of `cloakroom prune` and `cloakroom stats`, as given on the command line. */
export interface StoreTargetOptions {
  /** `--table`: the SQLite or PostgreSQL table. */
  readonly table?: string
  /** `--schema`: the PostgreSQL schema. */
  readonly schema?: string
  /** `--prefix`: the Redis key prefix. */
  readonly prefix?: string
}

/** A store opened for the CLI, with the `prune()` and `stats()` the commands call. */
export interface OpenedStore {
  /** The store. */
  readonly store: SessionStore & Required<Pick<SessionStore, 'prune' | 'stats'>>
  /** Releases what the CLI opened (the SQLite file, the pool, the Redis client). */
  close(): Promise<void>
}

/** A failure with the exit code it maps to: {@link EXIT_USAGE} or {@link EXIT_FAILURE}. */
export interface TargetFailure {
  readonly exitCode: number
  readonly message: string
}

/** The text of `--store` for the usage of `prune` and `stats`. */
export const STORE_USAGE = `  --store URL         where the sessions are; or set CLOAKROOM_STORE (preferred for a URL that
                      holds a password: the command line ends up in your shell history)
                        sqlite:PATH              a SQLite file of cloakroom/sqlite
                        file:DIR                 a directory of cloakroom/file
                        postgres://USER@HOST/DB  PostgreSQL (postgresql:// too)
                        redis://HOST:PORT/DB     Redis (rediss:// for TLS)`

const SCHEMES = 'sqlite:PATH, file:DIR, postgres://URL or redis://URL'

const usage = (message: string): TargetFailure => ({ exitCode: EXIT_USAGE, message })
/** A store's ConfigError as a usage message about the CLI option that fed it. */
const badOption = (flag: string, error: ConfigError): TargetFailure =>
  usage(`${flag}: ${error.message.replace(/^Invalid option "[^"]*": /, '')}`)
const runtime = (message: string): TargetFailure => ({ exitCode: EXIT_FAILURE, message })

/** A network URL with any password replaced by `***`, so it can be printed. */
function redact(text: string): { label: string; password: string } | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  let password: string
  try {
    password = decodeURIComponent(url.password)
  } catch {
    return undefined // a bad %-escape: not a URL a driver could use either
  }
  if (url.password !== '') url.password = '***'
  if (url.searchParams.has('password')) url.searchParams.set('password', '***')
  return { label: url.toString(), password }
}

/**
 * Reads the value of `--store`: `sqlite:PATH`, `file:DIR` (`sqlite:///abs` and `file:///abs` work
 * too), `postgres://`/`postgresql://` or `redis://`/`rediss://`.
 *
 * @param text the value of `--store`
 * @returns the target, or a usage failure that never echoes the value (it may hold a password)
 */
export function parseStoreTarget(text: string): StoreTarget | TargetFailure {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase()
  const rest = text.slice((scheme?.length ?? 0) + 1).replace(/^\/\//, '')
  switch (scheme) {
    case 'sqlite':
      if (rest === '')
        return usage('--store sqlite: needs a path, as in sqlite:./.data/sessions.db.')
      return { kind: 'sqlite', path: rest, label: `sqlite:${rest}` }
    case 'file':
      if (rest === '') return usage('--store file: needs a directory, as in file:./.data/sessions.')
      return { kind: 'file', dir: rest, label: `file:${rest}` }
    case 'postgres':
    case 'postgresql':
    case 'redis':
    case 'rediss': {
      const redacted = redact(text)
      if (redacted === undefined) return usage(`--store is not a valid ${scheme}:// URL.`)
      // Redis takes a database number as its path (redis://host:6379/2), nothing else.
      if (scheme.startsWith('redis') && !/^\/?[0-9]*$/.test(new URL(text).pathname)) {
        return usage(`--store ${scheme}:// takes a database number as its path, as in /0.`)
      }
      return {
        kind: scheme.startsWith('redis') ? 'redis' : 'postgres',
        url: text,
        label: redacted.label,
      }
    }
    case undefined:
      return usage(`--store needs a scheme: ${SCHEMES}.`)
    default:
      return usage(`unknown store scheme "${scheme}:"; expected ${SCHEMES}.`)
  }
}

/**
 * Reads `--store` (or `CLOAKROOM_STORE`) and the store options, checking that each option
 * applies to the store given.
 *
 * @param values the parsed options
 * @param io the environment to read `CLOAKROOM_STORE` from
 * @param allowed the store options the command takes
 * @returns the target and its options, or a usage failure
 */
export function storeTargetFromArgs(
  values: Readonly<Record<string, OptionValue>>,
  io: CliIO,
  allowed: readonly ('table' | 'schema' | 'prefix')[],
): { target: StoreTarget; options: StoreTargetOptions } | TargetFailure {
  const given = values.store
  const fromEnv = io.env.CLOAKROOM_STORE
  const text = typeof given === 'string' ? given : fromEnv !== '' ? fromEnv : undefined
  if (text === undefined || text === '') return usage('give --store URL or set CLOAKROOM_STORE.')
  const target = parseStoreTarget(text)
  if ('exitCode' in target) return target
  const applies: Record<'table' | 'schema' | 'prefix', readonly StoreTarget['kind'][]> = {
    table: ['sqlite', 'postgres'],
    schema: ['postgres'],
    prefix: ['redis'],
  }
  const options: { table?: string; schema?: string; prefix?: string } = {}
  for (const name of allowed) {
    const value = values[name]
    if (typeof value !== 'string') continue
    if (!applies[name].includes(target.kind)) {
      return usage(`--${name} applies to ${applies[name].join(' and ')} stores only.`)
    }
    options[name] = value
  }
  return { target, options }
}

/**
 * One line saying why a store operation failed: the driver's own error (the innermost `cause`),
 * never a password from the URL.
 *
 * @param error what the store threw
 * @param target the store, to redact its password from the message
 * @returns the message, one line
 */
export function describeStoreError(error: unknown, target?: StoreTarget): string {
  let inner: unknown = error
  while (inner instanceof Error && inner.cause !== undefined) inner = inner.cause
  if (inner instanceof AggregateError && inner.errors.length > 0) inner = inner.errors[0]
  let text =
    inner instanceof Error
      ? inner.message || (inner as { code?: string }).code || inner.name
      : String(inner)
  if (target !== undefined && (target.kind === 'postgres' || target.kind === 'redis')) {
    const password = redact(target.url)?.password ?? ''
    if (password !== '') text = text.replaceAll(password, '***')
  }
  return text.split('\n')[0]!.trim()
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() === true
}

const noop = (): void => undefined

// Drivers are optional peer dependencies: load them only for the store that needs them.
const loadSqlite = () => Promise.all([import('better-sqlite3'), import('../store/sqlite-store.js')])
const loadPostgres = () => Promise.all([import('pg'), import('../store/postgres-store.js')])
// The Redis store imports \`redis\` only when it connects: ask for it here, so a missing package
// is named as such.
const loadRedis = () => Promise.all([import('redis'), import('../store/redis-store.js')])

async function openSqlite(
  target: Extract<StoreTarget, { kind: 'sqlite' }>,
  options: StoreTargetOptions,
): Promise<OpenedStore | TargetFailure> {
  if (!isFile(resolve(target.path))) return runtime(`no SQLite database at ${target.path}.`)
  let modules: Awaited<ReturnType<typeof loadSqlite>>
  try {
    modules = await loadSqlite()
  } catch {
    return runtime(
      'the sqlite: store needs the better-sqlite3 package (npm install better-sqlite3).',
    )
  }
  const [{ default: Database }, { createSqliteStore }] = modules
  const tableName = options.table ?? 'cloakroom_sessions'
  let db: InstanceType<typeof Database>
  try {
    db = new Database(resolve(target.path), { fileMustExist: true })
  } catch (error) {
    return runtime(`cannot open ${target.path}: ${describeStoreError(error)}`)
  }
  try {
    const store = createSqliteStore({ database: db, table: tableName, createTable: false })
    // SQLite table names are case-insensitive.
    const found = db
      .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE`)
      .get(tableName)
    if (found === undefined) {
      db.close()
      return runtime(`${target.path} has no table "${tableName}" (set --table).`)
    }
    return { store, close: () => Promise.resolve(void db.close()) }
  } catch (error) {
    db.close()
    if (error instanceof ConfigError) return badOption('--table', error)
    return runtime(`cannot read ${target.path}: ${describeStoreError(error)}`)
  }
}

async function openFile(
  target: Extract<StoreTarget, { kind: 'file' }>,
): Promise<OpenedStore | TargetFailure> {
  if (!isDirectory(resolve(target.dir))) return runtime(`no directory at ${target.dir}.`)
  const { createFileStore } = await import('../store/file-store.js')
  try {
    const store = createFileStore({ dir: target.dir, onCorruptRecord: noop })
    return { store, close: () => Promise.resolve() }
  } catch (error) {
    return runtime(describeStoreError(error))
  }
}

async function openPostgres(
  target: Extract<StoreTarget, { kind: 'postgres' }>,
  options: StoreTargetOptions,
): Promise<OpenedStore | TargetFailure> {
  let modules: Awaited<ReturnType<typeof loadPostgres>>
  try {
    modules = await loadPostgres()
  } catch {
    return runtime('the postgres:// store needs the pg package (npm install pg).')
  }
  const [{ default: pg }, { createPostgresStore }] = modules
  const pool = new pg.Pool({ connectionString: target.url, max: 2, connectionTimeoutMillis: 5000 })
  pool.on('error', noop)
  const schema = options.schema ?? 'public'
  const table = options.table ?? 'cloakroom_sessions'
  let store: ReturnType<typeof createPostgresStore>
  try {
    store = createPostgresStore({
      pool,
      schema,
      table,
      createTable: false,
      queryTimeoutMs: 60_000,
      onError: noop,
    })
  } catch (error) {
    await pool.end()
    if (error instanceof ConfigError) return badOption(`--${error.option}`, error)
    throw error
  }
  const close = async (): Promise<void> => {
    await store.close()
    await pool.end()
  }
  const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`
  try {
    const { rows } = await pool.query<{ found: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS found',
      [`${quote(schema)}.${quote(table)}`],
    )
    if (rows[0]?.found !== true) {
      await close()
      return runtime(`no table ${schema}.${table} at ${target.label} (set --schema and --table).`)
    }
  } catch (error) {
    await close().catch(noop)
    return runtime(
      `cannot reach PostgreSQL at ${target.label}: ${describeStoreError(error, target)}`,
    )
  }
  return { store, close }
}

async function openRedis(
  target: Extract<StoreTarget, { kind: 'redis' }>,
  options: StoreTargetOptions,
): Promise<OpenedStore | TargetFailure> {
  let redisModule: Awaited<ReturnType<typeof loadRedis>>
  try {
    redisModule = await loadRedis()
  } catch {
    return runtime('the redis: store needs the redis package (npm install redis).')
  }
  const [, { createRedisStore }] = redisModule
  let store: ReturnType<typeof createRedisStore>
  try {
    store = createRedisStore({
      url: target.url,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      commandTimeoutMs: 10_000,
      onError: noop,
      clientOptions: { socket: { reconnectStrategy: false, connectTimeout: 5000 } },
    })
  } catch (error) {
    return usage(describeStoreError(error))
  }
  // Redis deletes expired sessions itself (every write sets PEXPIRE): nothing to prune.
  return {
    store: { ...store, prune: () => Promise.resolve(0) },
    close: () => store.close().catch(noop),
  }
}

/**
 * Opens the store for `prune` or `stats`. It never creates anything: a missing SQLite file,
 * directory or table is a failure. Redis `prune()` resolves to 0 without connecting, since Redis
 * expires sessions natively.
 *
 * @param target the parsed `--store`
 * @param options the store options
 * @returns the opened store, or the failure to report
 */
export function openStoreTarget(
  target: StoreTarget,
  options: StoreTargetOptions,
): Promise<OpenedStore | TargetFailure> {
  switch (target.kind) {
    case 'sqlite':
      return openSqlite(target, options)
    case 'file':
      return openFile(target)
    case 'postgres':
      return openPostgres(target, options)
    case 'redis':
      return openRedis(target, options)
  }
}
