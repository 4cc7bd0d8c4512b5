import { randomBytes } from 'node:crypto'
import { constants, lstatSync, mkdirSync, realpathSync } from 'node:fs'
import * as fsPromises from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ConfigError, StoreUnavailableError } from '../errors.js'
import type {
  PruneOptions,
  SessionStore,
  StoreStats,
  StoredSession,
  StoredSessionSummary,
} from './session-store.js'
import {
  applySessionPatch,
  isSafeIdHash,
  isStoredSession,
  StatsTally,
  stringifyStoredSession,
} from './stored-record.js'

/** Why a session file was read as "no session". */
export type CorruptRecordReason = 'unparsable' | 'invalid' | 'symlink' | 'not-a-file'

/** Details passed to `onCorruptRecord`: the record key, never a session id or its data. */
export interface CorruptRecordInfo {
  /** The record key (SHA-256 of the session id). */
  readonly idHash: string
  /** What was wrong with the file. */
  readonly reason: CorruptRecordReason
}

/** Errors of a directory `fsync` on platforms and file systems that do not support it. */
const UNSYNCABLE = new Set(['EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP', 'EBADF', 'EACCES'])

/**
 * The file-system calls the store makes, as in `node:fs/promises`. Inject a wrapper to simulate
 * failures (a full or read-only disk) in tests.
 */
export type FileStoreFs = Pick<
  typeof fsPromises,
  'open' | 'readdir' | 'rename' | 'unlink' | 'lstat'
>

/** Options of {@link createFileStore}. */
export interface FileStoreOptions {
  /**
   * The directory that holds one file per session. It is created with mode 0700; an existing
   * directory must not be readable or writable by group or others.
   *
   * > [!WARNING]
   * > Use a directory of its own: the store reads every `*.json` file in it, and `prune()` removes
   * > the expired records and the unusable files named like records (43-character names).
   */
  readonly dir: string
  /**
   * Told when a session file cannot be used (truncated, not JSON, a symlink, not a regular
   * file); it then reads as "no session", and `prune()` removes it when it is a file named like
   * the records the built-in factories write.
   * @defaultValue a `console.warn` naming the record key
   */
  readonly onCorruptRecord?: (info: CorruptRecordInfo) => void
  /**
   * The clock, in milliseconds since the epoch.
   * @defaultValue `Date.now`
   */
  readonly now?: () => number
  /**
   * The file-system functions to use; for fault-injection tests.
   * @defaultValue `node:fs/promises`
   */
  readonly fs?: FileStoreFs
}

/** The file store: a {@link SessionStore} with `prune()` and `stats()`. */
export interface FileStore extends SessionStore {
  /** The resolved directory of the session files. */
  readonly dir: string
  /**
   * Removes expired session files, unusable files named like records (the 43-character record
   * keys of the built-in factories; other files and entries that are not regular files are left
   * alone), and temporary files left by a crash. Files are removed one at a time; `onProgress` is
   * called after every `batchSize` files examined (default 100) and once at the end.
   *
   * Run by another process (`cloakroom prune`), it may remove a session that the app extends at
   * the very moment it expires: the lock that orders the changes to one file is per process.
   * @param options the batch size and a progress callback
   * @returns how many session files were removed
   * @throws {@link ConfigError} when `batchSize` is not a whole number greater than 0
   * @throws {@link StoreUnavailableError} when a file cannot be removed (a read-only directory)
   */
  prune(options?: PruneOptions): Promise<number>
  /**
   * Reads every session file (without changing any) and counts the live ones and those that
   * `prune()` would remove (expired or unusable). Unusable files are not reported to
   * `onCorruptRecord` here.
   * @returns the statistics
   */
  stats(): Promise<StoreStats>
}

const RECORD_FILE = /^([A-Za-z0-9_-]{1,128})\.json$/
const TEMP_FILE = /^\.[A-Za-z0-9_-]{1,128}\.[0-9a-f]{12}\.tmp$/
/** Temporary files older than this are left over from a crash. */
const STALE_TEMP_MS = 60_000

type ReadResult =
  | { kind: 'missing' }
  | { kind: 'corrupt'; reason: CorruptRecordReason }
  | { kind: 'ok'; record: StoredSession }

/** The name of every record the built-in factories write: SHA-256, base64url (43 characters). */
const HASH_NAMED = /^[A-Za-z0-9_-]{43}$/

/**
 * Whether `prune()` removes a directory entry (and `stats()` counts it as expired): an expired
 * record, or an unusable file named like the records the built-in factories write. Other
 * unusable files (another program's `*.json` in a directory that is not the store's own) and
 * entries that are not regular files (a directory, a FIFO) are left alone and not counted.
 */
function isPrunable(idHash: string, result: ReadResult, time: number): boolean {
  if (result.kind === 'ok') return result.record.expires <= time
  if (result.kind === 'missing' || result.reason === 'not-a-file') return false
  return HASH_NAMED.test(idHash)
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined
}

/**
 * Prepares the session directory at construction: creates it with mode 0700, or checks that an
 * existing one is a private directory.
 */
function prepareDirectory(dir: string): string {
  const absolute = resolve(dir)
  try {
    mkdirSync(absolute, { recursive: true, mode: 0o700 })
  } catch (error) {
    throw new ConfigError('dir', `cannot create ${absolute}: ${(error as Error).message}`)
  }
  const real = realpathSync(absolute)
  const stat = lstatSync(real)
  if (!stat.isDirectory()) throw new ConfigError('dir', `${absolute} is not a directory.`)
  if ((stat.mode & 0o077) !== 0) {
    throw new ConfigError(
      'dir',
      `${absolute} is accessible to other users (mode ${(stat.mode & 0o777).toString(8)}); ` +
        'use a directory of its own with mode 0700 (chmod 700), or a path that does not exist yet.',
    )
  }
  return real
}

/**
 * Creates a store that keeps each session in its own file: durable across restarts, with no
 * server to run.
 *
 * @remarks
 * Each file is named by the record key (SHA-256 of the session id) and written atomically: a
 * temporary file is written, `fsync`ed and renamed over the old one, so a crash never leaves a
 * half-written session. A deletion (`delete`, `deleteByOwner`) also syncs the directory, so a
 * logout survives a power loss; a write does not, so the last write before one may be lost.
 * Files are created with mode 0600 and opened with `O_NOFOLLOW`, so a symlink planted in the
 * directory is never followed. A corrupt or truncated file reads as "no session" and is reported
 * to `onCorruptRecord`.
 *
 * Patches are merged under a lock per file, so concurrent requests of one process that change
 * different keys all keep their changes. That lock lives in this process: several processes
 * writing to one directory can lose each other's concurrent changes to one session. Use the
 * SQLite store (one file, safe with many processes) or Redis/PostgreSQL for that.
 * `listByOwner` and `deleteByOwner` scan the directory.
 *
 * @param options the directory and hooks
 * @returns the store
 * @throws {@link ConfigError} when the directory cannot be created or is not private
 *
 * @example
 * ```ts
 * import { createStoreFactory } from 'cloakroom'
 * import { createFileStore } from 'cloakroom/file'
 * const factory = createStoreFactory({ store: createFileStore({ dir: './.data/sessions' }) })
 * ```
 */
export function createFileStore(options: FileStoreOptions): FileStore {
  if (typeof options?.dir !== 'string' || options.dir === '') {
    throw new ConfigError('dir', 'expected the path of the directory that holds the session files.')
  }
  const now = options.now ?? Date.now
  if (typeof now !== 'function')
    throw new ConfigError('now', 'expected a function returning milliseconds.')
  const fs: FileStoreFs = options.fs ?? fsPromises
  const onCorruptRecord =
    options.onCorruptRecord ??
    ((info: CorruptRecordInfo) =>
      console.warn(
        `cloakroom/file: session file ${info.idHash}.json is unusable (${info.reason}).`,
      ))
  const dir = prepareDirectory(options.dir)

  const pathOf = (idHash: string): string => join(dir, `${idHash}.json`)
  const locks = new Map<string, Promise<void>>()

  /** Runs `task` after every earlier task on the same file has finished. */
  const withLock = async <T>(idHash: string, task: () => Promise<T>): Promise<T> => {
    const previous = locks.get(idHash) ?? Promise.resolve()
    let release!: () => void
    const mine = previous.then(() => new Promise<void>((done) => (release = done)))
    locks.set(idHash, mine)
    await previous
    try {
      return await task()
    } finally {
      release()
      if (locks.get(idHash) === mine) locks.delete(idHash)
    }
  }

  const guard = async <T>(operation: string, task: () => Promise<T>): Promise<T> => {
    try {
      return await task()
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error
      throw new StoreUnavailableError(`file store ${operation}`, { cause: error })
    }
  }

  const read = async (idHash: string): Promise<ReadResult> => {
    let handle: fsPromises.FileHandle
    try {
      // O_NONBLOCK: a FIFO named like a record fails the file check below instead of blocking.
      handle = await fs.open(
        pathOf(idHash),
        constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0),
      )
    } catch (error) {
      const code = errorCode(error)
      if (code === 'ENOENT') return { kind: 'missing' }
      if (code === 'ELOOP' || code === 'EMLINK') return { kind: 'corrupt', reason: 'symlink' }
      throw error
    }
    try {
      if (!(await handle.stat()).isFile()) return { kind: 'corrupt', reason: 'not-a-file' }
      const text = await handle.readFile('utf8')
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        return { kind: 'corrupt', reason: 'unparsable' }
      }
      return isStoredSession(parsed)
        ? { kind: 'ok', record: parsed }
        : { kind: 'corrupt', reason: 'invalid' }
    } finally {
      await handle.close()
    }
  }

  /** @returns the live record, or undefined (reporting corrupt files) */
  const readLive = async (idHash: string): Promise<StoredSession | undefined> => {
    const result = await read(idHash)
    if (result.kind === 'corrupt') onCorruptRecord({ idHash, reason: result.reason })
    if (result.kind !== 'ok' || result.record.expires <= now()) return undefined
    return result.record
  }

  const write = async (idHash: string, record: StoredSession): Promise<void> => {
    const temp = join(dir, `.${idHash}.${randomBytes(6).toString('hex')}.tmp`)
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
    const handle = await fs.open(temp, flags, 0o600)
    try {
      try {
        await handle.writeFile(stringifyStoredSession(record), 'utf8')
        await handle.sync()
      } finally {
        await handle.close()
      }
      // rename() replaces the name atomically, and replaces a symlink rather than following it.
      await fs.rename(temp, pathOf(idHash))
    } catch (error) {
      await fs.unlink(temp).catch(() => undefined)
      throw error
    }
  }

  const unlink = async (idHash: string): Promise<boolean> => {
    try {
      await fs.unlink(pathOf(idHash))
      return true
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw error
    }
  }

  /**
   * Makes the directory's entries durable (`fsync` of the directory), so a session removed by a
   * logout stays removed after a power loss. Platforms that cannot sync a directory (Windows)
   * skip it.
   */
  const syncDirectory = async (): Promise<void> => {
    let handle: fsPromises.FileHandle
    try {
      handle = await fs.open(dir, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0))
    } catch (error) {
      if (UNSYNCABLE.has(errorCode(error) ?? '')) return
      throw error
    }
    try {
      await handle.sync()
    } catch (error) {
      if (!UNSYNCABLE.has(errorCode(error) ?? '')) throw error
    } finally {
      await handle.close()
    }
  }

  /** Every record key in the directory, for the scans behind the owner index and prune. */
  const recordKeys = async (): Promise<string[]> => {
    const names = await fs.readdir(dir)
    const keys: string[] = []
    for (const name of names) {
      const match = RECORD_FILE.exec(name)
      if (match !== null) keys.push(match[1]!)
    }
    return keys
  }

  const ownedBy = async (owner: string): Promise<[string, StoredSession][]> => {
    const time = now()
    const out: [string, StoredSession][] = []
    for (const idHash of await recordKeys()) {
      const result = await read(idHash)
      if (result.kind === 'ok' && result.record.owner === owner && result.record.expires > time) {
        out.push([idHash, result.record])
      }
    }
    return out
  }

  return {
    dir,
    get(idHash) {
      if (!isSafeIdHash(idHash)) return Promise.resolve(undefined)
      return guard('get', async () => {
        const result = await read(idHash)
        if (result.kind === 'corrupt') onCorruptRecord({ idHash, reason: result.reason })
        if (result.kind !== 'ok') return undefined
        if (result.record.expires <= now()) {
          // Best effort: the answer is "no session" whether or not the file can go (a read-only
          // directory); prune removes it later.
          await withLock(idHash, async () => {
            const again = await read(idHash)
            if (again.kind === 'ok' && again.record.expires <= now()) await unlink(idHash)
          }).catch(() => undefined)
          return undefined
        }
        return result.record
      })
    },
    set(idHash, record, setOptions) {
      if (!isSafeIdHash(idHash)) return Promise.resolve(false)
      return guard('set', () =>
        withLock(idHash, async () => {
          if (setOptions?.onlyIfExists === true && (await readLive(idHash)) === undefined)
            return false
          await write(idHash, record)
          return true
        }),
      )
    },
    patch(idHash, patch) {
      if (!isSafeIdHash(idHash)) return Promise.resolve(false)
      return guard('patch', () =>
        withLock(idHash, async () => {
          const record = await readLive(idHash)
          if (record === undefined) return false
          await write(idHash, applySessionPatch(record, patch))
          return true
        }),
      )
    },
    touch(idHash, lastActive, expires) {
      if (!isSafeIdHash(idHash)) return Promise.resolve(false)
      return guard('touch', () =>
        withLock(idHash, async () => {
          const record = await readLive(idHash)
          if (record === undefined) return false
          await write(idHash, { ...record, lastActive, expires })
          return true
        }),
      )
    },
    delete(idHash) {
      if (!isSafeIdHash(idHash)) return Promise.resolve()
      return guard('delete', async () => {
        if (await withLock(idHash, () => unlink(idHash))) await syncDirectory()
      })
    },
    listByOwner(owner) {
      return guard('listByOwner', async () => {
        const summaries: StoredSessionSummary[] = (await ownedBy(owner)).map(
          ([idHash, record]) => ({
            idHash,
            created: record.created,
            lastActive: record.lastActive,
            expires: record.expires,
          }),
        )
        return summaries
      })
    },
    deleteByOwner(owner, exceptIdHash) {
      return guard('deleteByOwner', async () => {
        let removed = 0
        for (const [idHash] of await ownedBy(owner)) {
          if (idHash === exceptIdHash) continue
          // Checked again under the lock: the session may have changed owner since the scan.
          const gone = await withLock(idHash, async () => {
            const current = await read(idHash)
            return current.kind === 'ok' && current.record.owner === owner && unlink(idHash)
          })
          if (gone) removed++
        }
        if (removed > 0) await syncDirectory()
        return removed
      })
    },
    prune(pruneOptions) {
      const batchSize = pruneOptions?.batchSize ?? 100
      if (!Number.isInteger(batchSize) || batchSize <= 0) {
        return Promise.reject(
          new ConfigError('batchSize', 'expected a whole number greater than 0.'),
        )
      }
      const onProgress = pruneOptions?.onProgress
      return guard('prune', async () => {
        let removed = 0
        let examined = 0
        for (const idHash of await recordKeys()) {
          if (examined > 0 && examined % batchSize === 0) onProgress?.(removed)
          examined++
          const gone = await withLock(
            idHash,
            async () => isPrunable(idHash, await read(idHash), now()) && unlink(idHash),
          )
          if (gone) removed++
        }
        const time = now()
        for (const name of await fs.readdir(dir)) {
          if (!TEMP_FILE.test(name)) continue
          const path = join(dir, name)
          const stat = await fs.lstat(path).catch(() => undefined)
          if (stat !== undefined && time - stat.mtimeMs > STALE_TEMP_MS)
            await fs.unlink(path).catch(() => undefined)
        }
        onProgress?.(removed)
        return removed
      })
    },
    stats() {
      return guard('stats', async () => {
        const time = now()
        const tally = new StatsTally(time)
        for (const idHash of await recordKeys()) {
          const result = await read(idHash)
          if (result.kind === 'ok') tally.add(result.record)
          else if (isPrunable(idHash, result, time)) tally.add(undefined)
        }
        return tally.result()
      })
    },
  }
}
