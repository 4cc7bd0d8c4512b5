/**
 * `cloakroom/file`: a session store that keeps one file per session, written atomically.
 *
 * @example
 * ```ts
 * import { createStoreFactory } from 'cloakroom'
 * import { createFileStore } from 'cloakroom/file'
 * const factory = createStoreFactory({ store: createFileStore({ dir: './.data/sessions' }) })
 * ```
 *
 * @module cloakroom/file
 */
export {
  createFileStore,
  type CorruptRecordInfo,
  type CorruptRecordReason,
  type FileStore,
  type FileStoreFs,
  type FileStoreOptions,
} from './lib/store/file-store.js'
