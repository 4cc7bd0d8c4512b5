/**
 * `cloakroom/redis`: a session store on Redis or Valkey, through node-redis v5 (`redis`).
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * import { createRedisStore } from 'cloakroom/redis'
 * const client = await createClient({ url: process.env.REDIS_URL }).connect()
 * const store = createRedisStore({ client })
 * ```
 *
 * @module cloakroom/redis
 */
export {
  createRedisStore,
  type RedisStore,
  type RedisStoreClient,
  type RedisStoreOptions,
} from './lib/store/redis-store.js'
