/**
 * Builds the Cloakroom session factory a benchmark server uses, from `CLOAKROOM`: `signed`,
 * `encrypted`, `signed+revocation` (backed by the memory store), `memory`, `file`, `sqlite`,
 * `redis` or `postgres`. A kind whose service is down makes the server print `skip <reason>`.
 * Stores count their calls, which the server reports on `SIGUSR2` (see `counted`).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createEncryptedCookieFactory,
  createMemoryStore,
  createSignedCookieFactory,
  createStoreFactory,
  type SessionFactory,
  type SessionStore,
} from '../../src/index.js'
import { SECRET, skip, type SeedUser } from './common.js'

/** The session data of every benchmark server. */
export interface BenchData {
  user: SeedUser
  n: number
}

/** The store calls, and the sessions loaded (one per request), since the last report. */
let storeCalls = 0
let loads = 0
// run.ts sends SIGUSR2 before and after a measurement: the server prints the counts since the
// last one (`store-calls <calls> <loads>`) and counts again from 0.
process.on('SIGUSR2', () => {
  process.stdout.write(`store-calls ${storeCalls} ${loads}\n`)
  storeCalls = 0
  loads = 0
})

/**
 * @param factory a session factory
 * @returns the same factory, counting the sessions it loads: one per request
 */
function countingLoads<Data extends object>(factory: SessionFactory<Data>): SessionFactory<Data> {
  const load = factory.load.bind(factory)
  return Object.assign(Object.create(factory) as SessionFactory<Data>, {
    load: (cookieHeader: string | null | undefined) => {
      loads++
      return load(cookieHeader)
    },
  })
}

/**
 * @param store a session store
 * @returns the same store, counting every call of the contract's operations (each one round trip
 *   to the store; a Redis `patch` that also updates the owner index is still counted once)
 */
function counted(store: SessionStore): SessionStore {
  const count =
    <A extends unknown[], R>(operation: (...args: A) => R) =>
    (...args: A): R => {
      storeCalls++
      return operation(...args)
    }
  return Object.assign(Object.create(store) as SessionStore, {
    get: count(store.get.bind(store)),
    set: count(store.set.bind(store)),
    patch: count(store.patch.bind(store)),
    touch: count(store.touch.bind(store)),
    delete: count(store.delete.bind(store)),
    listByOwner: count(store.listByOwner.bind(store)),
    deleteByOwner: count(store.deleteByOwner.bind(store)),
  })
}

/**
 * @param kind the factory kind
 * @returns the factory (exits with `skip` when the kind cannot run here)
 */
export async function createBenchFactory(kind: string): Promise<SessionFactory<BenchData>> {
  switch (kind) {
    case 'signed':
      return createSignedCookieFactory<BenchData>({ secrets: SECRET, secure: false })
    case 'encrypted':
      return createEncryptedCookieFactory<BenchData>({ secrets: SECRET, secure: false })
    case 'signed+revocation':
      // One store read per request that carries a cookie (the revocation check).
      return countingLoads(
        createSignedCookieFactory<BenchData>({
          secrets: SECRET,
          secure: false,
          revocation: { store: counted(createMemoryStore()) },
        }),
      )
    case 'memory':
    case 'file':
    case 'sqlite':
    case 'redis':
    case 'postgres':
      return countingLoads(
        createStoreFactory<BenchData>({
          store: counted(await createBenchStore(kind)),
          secure: false,
        }),
      )
    default:
      return skip(`unknown CLOAKROOM kind ${kind}`)
  }
}

async function createBenchStore(
  kind: 'memory' | 'file' | 'sqlite' | 'redis' | 'postgres',
): Promise<SessionStore> {
  switch (kind) {
    case 'memory':
      return createMemoryStore()
    case 'file': {
      const { createFileStore } = await import('../../src/file.js')
      return createFileStore({
        dir: join(mkdtempSync(join(tmpdir(), 'cloakroom-bench-')), 'sessions'),
      })
    }
    case 'sqlite': {
      const { createSqliteStore } = await import('../../src/sqlite.js')
      const dir = mkdtempSync(join(tmpdir(), 'cloakroom-bench-'))
      return createSqliteStore({ database: join(dir, 'sessions.db') })
    }
    case 'redis': {
      const { createRedisStore } = await import('../../src/redis.js')
      const store = createRedisStore({
        url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        prefix: 'cloakroom-bench:',
      })
      await probe(store, 'Redis')
      return store
    }
    case 'postgres': {
      const { createPostgresStore } = await import('../../src/postgres.js')
      const { default: pg } = await import('pg')
      const pool = new pg.Pool({
        connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
        max: 10,
      })
      pool.on('error', () => {})
      const store = createPostgresStore({ pool, schema: 'cloakroom_bench' })
      await probe(store, 'PostgreSQL')
      return store
    }
  }
}

/** Reads a missing id once, so an unreachable service gives `skip` instead of failed requests. */
async function probe(store: SessionStore, service: string): Promise<void> {
  try {
    await store.get('bench-probe')
  } catch (error) {
    skip(`${service} unreachable: ${String(error)}`)
  }
}
