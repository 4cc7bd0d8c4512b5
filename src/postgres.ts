/**
 * `cloakroom/postgres`: a session store on PostgreSQL, through `pg`.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createPostgresStore } from 'cloakroom/postgres'
 * const store = createPostgresStore({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) })
 * ```
 *
 * @module cloakroom/postgres
 */
export {
  createPostgresStore,
  postgresSessionTableSQL,
  type PostgresStore,
  type PostgresStoreOptions,
} from './lib/store/postgres-store.js'
