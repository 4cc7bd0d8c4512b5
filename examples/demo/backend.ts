import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import {
  createEncryptedCookieFactory,
  createSignedCookieFactory,
  createStoreFactory,
  type SessionCookieOptions,
  type SessionFactory,
  type SessionStore,
  type StoreSessionFactory,
} from 'cloakroom'
import type { DemoData } from './cart.js'
import type { DemoConfig, FactoryName } from './config.js'

/** The session factory the demo runs on, and how to shut it down. */
export interface DemoBackend {
  /** Which factory this is, for the inspector. */
  readonly factoryName: FactoryName
  /** The factory. */
  readonly factory: SessionFactory<DemoData>
  /** The same factory when it keeps sessions on the server (devices page), else undefined. */
  readonly storeFactory: StoreSessionFactory<DemoData> | undefined
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

/**
 * Creates the session factory named by the configuration. Drivers (better-sqlite3, redis, pg)
 * are imported only when chosen.
 *
 * @param config the demo configuration
 * @param options the clock
 * @returns the factory and its `close()`
 */
export async function createDemoBackend(
  config: DemoConfig,
  options: DemoBackendOptions = {},
): Promise<DemoBackend> {
  const now = options.now ?? Date.now
  const cookie: SessionCookieOptions = { secure: config.secureCookies, now }
  const stored = (
    store: SessionStore & { prune?(): Promise<number>; close?(): Promise<void> },
    closeMore: () => Promise<void> = () => Promise.resolve(),
  ): DemoBackend => {
    const factory = createStoreFactory<DemoData>({ ...cookie, store })
    const prune = store.prune?.bind(store)
    const timer =
      prune === undefined
        ? undefined
        : setInterval(() => void prune().catch(console.error), PRUNE_EVERY_MS).unref()
    return {
      factoryName: config.factoryName,
      factory,
      storeFactory: factory,
      close: async () => {
        clearInterval(timer)
        await store.close?.()
        await closeMore()
      },
    }
  }

  switch (config.factoryName) {
    case 'signed':
    case 'encrypted': {
      const create =
        config.factoryName === 'signed' ? createSignedCookieFactory : createEncryptedCookieFactory
      return {
        factoryName: config.factoryName,
        factory: create<DemoData>({ ...cookie, secrets: config.secret! }),
        storeFactory: undefined,
        close: () => Promise.resolve(),
      }
    }
    case 'sqlite': {
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
      const { createSqliteStore } = await import('cloakroom/sqlite')
      return stored(createSqliteStore({ database: join(config.dataDir, 'sessions.db'), now }))
    }
    case 'redis': {
      const { createRedisStore } = await import('cloakroom/redis')
      return stored(
        createRedisStore({
          url: config.redisUrl!,
          prefix: config.redisPrefix ?? 'cloakroom-demo:',
          now,
        }),
      )
    }
    case 'postgres': {
      const { default: pg } = await import('pg')
      const pool = new pg.Pool({ connectionString: config.databaseUrl!, statement_timeout: 2000 })
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
