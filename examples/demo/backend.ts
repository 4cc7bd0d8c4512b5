import { chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import {
  createEncryptedCookieFactory,
  createSignedCookieFactory,
  createStoreFactory,
  type RevocableSessionFactory,
  type SessionCookieOptions,
  type SessionFactory,
  type SessionStore,
  type StoreSessionFactory,
} from 'cloakroom'
import type { DemoData } from './cart.js'
import { DemoConfigError, type DemoConfig, type FactoryName } from './config.js'

/** The session factory the demo runs on, and how to shut it down. */
export interface DemoBackend {
  /** Which factory this is, for the inspector. */
  readonly factoryName: FactoryName
  /** The factory. */
  readonly factory: SessionFactory<DemoData>
  /** The same factory when it keeps sessions on the server (devices page), else undefined. */
  readonly storeFactory: StoreSessionFactory<DemoData> | undefined
  /**
   * The same factory when it keeps sessions in cookies and records their revocations, so that a
   * logout ends the cookie for good and "log out other devices" works; else undefined.
   */
  readonly revocableFactory: RevocableSessionFactory<DemoData> | undefined
  /** Closes the store's connections and timers. */
  close(): Promise<void>
}

/** Test hooks of {@link createDemoBackend}. */
export interface DemoBackendOptions {
  /**
   * The clock.
   * @defaultValue `Date.now`
   */
  readonly now?: () => number
}

const PRUNE_EVERY_MS = 15 * 60_000

/** A store the demo prunes now and then, and closes when it stops. */
type PrunableStore = SessionStore & { prune?(): Promise<number>; close?(): Promise<void> }

/**
 * Prunes `store` every {@link PRUNE_EVERY_MS} until the returned `close()`, which also closes it
 * and then runs `closeMore`.
 */
function closerOf(
  store: PrunableStore,
  closeMore: () => Promise<void> = () => Promise.resolve(),
): () => Promise<void> {
  const prune = store.prune?.bind(store)
  const timer =
    prune === undefined
      ? undefined
      : setInterval(() => void prune().catch(console.error), PRUNE_EVERY_MS).unref()
  return async () => {
    clearInterval(timer)
    await store.close?.()
    await closeMore()
  }
}

/** How long start-up waits for Redis or PostgreSQL to answer before giving up. */
const REACH_TIMEOUT_MS = 3000

/** The text of a connection error: an `AggregateError` (IPv4 and IPv6 refused) has none itself. */
function reasonOf(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    return [...new Set(error.errors.map(reasonOf))].join('; ')
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return error.message !== '' ? error.message : typeof code === 'string' ? code : error.name
  }
  return String(error)
}

/** The URL with its password, if any, replaced by `***`: it is printed. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password === '') return url
    parsed.password = '***'
    return parsed.toString()
  } catch {
    // readDemoConfig checks the URLs, but never print one that does not parse.
    return '(a URL that does not parse)'
  }
}

/**
 * Checks once, at start-up, that the store answers: runs `check` for at most
 * {@link REACH_TIMEOUT_MS}, and when it fails releases the connection with `release`.
 *
 * @param variable the environment variable that gave the address, such as `REDIS_URL`
 * @param url its value
 * @param check connects and sends a trivial command
 * @param release closes what `check` opened, so nothing retries or keeps the process alive
 * @throws {@link DemoConfigError} saying which address could not be reached, and why
 */
async function checkReachable(
  variable: string,
  url: string,
  check: () => Promise<unknown>,
  release: () => Promise<unknown>,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${REACH_TIMEOUT_MS / 1000} s`)),
      REACH_TIMEOUT_MS,
    )
  })
  try {
    await Promise.race([check(), late])
  } catch (error) {
    await release().catch(() => {})
    throw new DemoConfigError(
      `cannot reach ${variable} (${withoutPassword(url)}): ${reasonOf(error)}`,
    )
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Creates the session factory named by the configuration. Drivers (better-sqlite3, redis, pg)
 * are imported only when chosen. Redis and PostgreSQL are asked once, within a few seconds,
 * whether they answer, so a wrong address stops the start instead of failing every request.
 *
 * @param config the demo configuration
 * @param options the clock
 * @returns the factory and its `close()`
 * @throws {@link DemoConfigError} when Redis or PostgreSQL cannot be reached
 */
export async function createDemoBackend(
  config: DemoConfig,
  options: DemoBackendOptions = {},
): Promise<DemoBackend> {
  const now = options.now ?? Date.now
  const cookie: SessionCookieOptions = { secure: config.secureCookies, now }
  const stored = (
    store: PrunableStore,
    closeMore: () => Promise<void> = () => Promise.resolve(),
  ): DemoBackend => {
    const factory = createStoreFactory<DemoData>({ ...cookie, store })
    return {
      factoryName: config.factoryName,
      factory,
      storeFactory: factory,
      revocableFactory: undefined,
      close: closerOf(store, closeMore),
    }
  }
  /** Opens `name` in the data directory, which holds sessions: private to the user. */
  const openSqlite = async (name: string): Promise<PrunableStore> => {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
    chmodSync(config.dataDir, 0o700)
    const { createSqliteStore } = await import('cloakroom/sqlite')
    return createSqliteStore({ database: join(config.dataDir, name), now })
  }

  switch (config.factoryName) {
    case 'signed':
    case 'encrypted': {
      // The session stays in the cookie; SQLite records only which cookies were ended (by a
      // logout, or by "log out other devices"), so a copied cookie stops working too.
      const store = await openSqlite('revocations.db')
      const create =
        config.factoryName === 'signed' ? createSignedCookieFactory : createEncryptedCookieFactory
      const factory = create<DemoData>({
        ...cookie,
        secrets: config.secret!,
        revocation: { store },
      })
      return {
        factoryName: config.factoryName,
        factory,
        storeFactory: undefined,
        revocableFactory: factory,
        close: closerOf(store),
      }
    }
    case 'sqlite':
      return stored(await openSqlite('sessions.db'))
    case 'redis': {
      const { createClient } = await import('redis')
      let ready = false
      const client = createClient({
        url: config.redisUrl!,
        socket: {
          connectTimeout: REACH_TIMEOUT_MS,
          // At start-up one failed attempt is final (the demo says why and stops); once
          // connected, reconnect after a lost connection as node-redis does by default.
          reconnectStrategy: (retries) => (ready ? Math.min(2 ** retries * 50, 2000) : false),
        },
      })
      // Start-up failures are reported once, by checkReachable; later ones are logged.
      client.on('error', (error: unknown) => {
        if (ready) console.error(`redis: ${reasonOf(error)}`)
      })
      await checkReachable(
        'REDIS_URL',
        config.redisUrl!,
        async () => {
          await client.connect()
          await client.ping()
        },
        () => Promise.resolve(client.isOpen && client.destroy()),
      )
      ready = true
      const { createRedisStore } = await import('cloakroom/redis')
      return stored(
        createRedisStore({
          client,
          prefix: config.redisPrefix ?? 'cloakroom-demo:',
          now,
        }),
        () => (client.isOpen ? client.close() : Promise.resolve()),
      )
    }
    case 'postgres': {
      const { default: pg } = await import('pg')
      const pool = new pg.Pool({
        connectionString: config.databaseUrl!,
        connectionTimeoutMillis: REACH_TIMEOUT_MS,
        statement_timeout: 2000,
      })
      await checkReachable(
        'DATABASE_URL',
        config.databaseUrl!,
        () => pool.query('SELECT 1'),
        () => pool.end(),
      )
      const { createPostgresStore } = await import('cloakroom/postgres')
      const store = createPostgresStore({
        pool,
        table: config.postgresTable ?? 'cloakroom_demo_sessions',
        now,
      })
      return stored(store, () => pool.end())
    }
  }
}
