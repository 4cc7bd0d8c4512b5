import { randomBytes } from 'node:crypto'
import { Socket } from 'node:net'
import { after } from 'node:test'
import { createClient } from 'redis'

/** The Redis server the integration tests use. */
/** A connected node-redis client. */
export type RedisClient = ReturnType<typeof createClient>

export const REDIS_URL = 'redis://127.0.0.1:6379'
/** The PostgreSQL connection the integration tests use (trust auth). */
export const POSTGRES = {
  host: '127.0.0.1',
  port: 5432,
  user: 'postgres',
  database: 'test',
} as const

/** A fresh name for one test run's keys, schema or table: `cloakroom_test_<hex>`. */
export function uniqueName(): string {
  return `cloakroom_test_${randomBytes(6).toString('hex')}`
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(port, host, () => done(true))
  })
}

/**
 * Checks that a service is reachable. Locally it returns a one-line skip reason when it is not;
 * with `CI=true` it throws, so a missing service fails the run instead of skipping it.
 *
 * @returns false when the service is up, else the reason to skip
 */
export async function serviceSkip(name: 'redis' | 'postgres'): Promise<string | false> {
  const [host, port] = name === 'redis' ? ['127.0.0.1', 6379] : [POSTGRES.host, POSTGRES.port]
  if (await reachable(host, port)) return false
  const reason = `${name} is not reachable on ${host}:${port}`
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: integration tests must run)`)
  return reason
}

/**
 * A Redis client shared by one test file, connected on first use; when the file's tests end it
 * deletes every key under `prefix` and disconnects.
 *
 * @param prefix the key prefix the file's tests write under
 * @returns a function giving the connected client
 */
export function sharedRedisClient(prefix: string): () => Promise<RedisClient> {
  let shared: RedisClient | undefined
  after(async () => {
    if (shared === undefined) return
    for await (const keys of shared.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await shared.del(keys)
    }
    await shared.close()
  })
  return async () => {
    if (shared === undefined) {
      shared = createClient({ url: REDIS_URL })
      shared.on('error', () => {})
      await shared.connect()
    }
    return shared
  }
}
