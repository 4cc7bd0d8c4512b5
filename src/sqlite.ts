/**
 * `cloakroom/sqlite`: a session store in one SQLite file, through `better-sqlite3` (an optional
 * peer dependency: `npm install better-sqlite3`).
 *
 * @example
 * ```ts
 * import { createStoreFactory } from 'cloakroom'
 * import { createSqliteStore } from 'cloakroom/sqlite'
 * const factory = createStoreFactory({ store: createSqliteStore({ database: './.data/sessions.db' }) })
 * ```
 *
 * @module cloakroom/sqlite
 */
export {
  createSqliteStore,
  type SqliteStore,
  type SqliteStoreOptions,
} from './lib/store/sqlite-store.js'
