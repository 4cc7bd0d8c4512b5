import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import * as fsPromises from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { StoreUnavailableError } from '../errors.js'
import { createFileStore, type CorruptRecordInfo, type FileStoreFs } from './file-store.js'
import type { StoredSession } from './session-store.js'

const root = mkdtempSync(join(tmpdir(), 'cloakroom-file-store-'))
after(() => rmSync(root, { recursive: true, force: true }))

let count = 0
const freshDir = (): string => join(root, `dir-${count++}`)
const newIdHash = (): string => createHash('sha256').update(randomBytes(32)).digest('base64url')
const record = (overrides: Partial<StoredSession> = {}): StoredSession => ({
  data: { user: 'ada' },
  system: {},
  created: Date.now(),
  lastActive: Date.now(),
  expires: Date.now() + 3_600_000,
  ...overrides,
})

function failing(
  code: string,
  on: (name: keyof FileStoreFs, args: unknown[]) => boolean,
): FileStoreFs {
  const wrap =
    <K extends keyof FileStoreFs>(name: K) =>
    (...args: unknown[]): unknown => {
      if (on(name, args)) {
        return Promise.reject(
          Object.assign(new Error(`${code}: simulated failure, ${name}`), { code }),
        )
      }
      return (fsPromises[name] as (...a: unknown[]) => unknown)(...args)
    }
  return {
    open: wrap('open'),
    readdir: wrap('readdir'),
    rename: wrap('rename'),
    unlink: wrap('unlink'),
    lstat: wrap('lstat'),
  } as FileStoreFs
}

describe('createFileStore', () => {
  it('creates its directory with mode 0700 and session files with mode 0600', async () => {
    const dir = freshDir()
    const store = createFileStore({ dir })
    const id = newIdHash()
    await store.set(id, record())
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    assert.equal(statSync(join(dir, `${id}.json`)).mode & 0o777, 0o600)
  })

  it('refuses an existing directory that other users can read', () => {
    const dir = freshDir()
    mkdirSync(dir, { mode: 0o755 })
    chmodSync(dir, 0o755)
    assert.throws(() => createFileStore({ dir }), { code: 'ERR_INVALID_OPTION' })
  })

  it('leaves one complete file per session and no temporary files', async () => {
    const dir = freshDir()
    const store = createFileStore({ dir })
    const id = newIdHash()
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(id, record({ data: { i } }))))
    assert.deepEqual(readdirSync(dir), [`${id}.json`])
    assert.deepEqual(JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8')).data, { i: 19 })
  })

  it('does not follow a symlink planted under a session name, and replaces it on write', async () => {
    const dir = freshDir()
    const reports: CorruptRecordInfo[] = []
    const store = createFileStore({ dir, onCorruptRecord: (info) => reports.push(info) })
    const id = newIdHash()
    const outside = join(root, `outside-${count++}.json`)
    const planted = JSON.stringify(record({ data: { user: 'planted' } }))
    writeFileSync(outside, planted)
    symlinkSync(outside, join(dir, `${id}.json`))
    assert.equal(await store.get(id), undefined)
    assert.deepEqual(reports, [{ idHash: id, reason: 'symlink' }])
    assert.equal(
      await store.patch(id, {
        data: { set: new Map(), deleted: new Set() },
        system: { set: new Map(), deleted: new Set() },
        lastActive: 0,
        expires: Date.now() + 1000,
      }),
      false,
    )
    await store.set(id, record())
    assert.equal(readFileSync(outside, 'utf8'), planted, 'the link target is untouched')
    assert.deepEqual((await store.get(id))?.data, { user: 'ada' })
  })

  it('reads a truncated, non-JSON or wrongly shaped file as no session, reports it, and prunes it', async () => {
    const dir = freshDir()
    const reports: CorruptRecordInfo[] = []
    const store = createFileStore({ dir, onCorruptRecord: (info) => reports.push(info) })
    const [truncated, shaped] = [newIdHash(), newIdHash()]
    writeFileSync(join(dir, `${truncated}.json`), JSON.stringify(record()).slice(0, 30), {
      mode: 0o600,
    })
    writeFileSync(join(dir, `${shaped}.json`), JSON.stringify({ data: [] }), { mode: 0o600 })
    assert.equal(await store.get(truncated), undefined)
    assert.equal(await store.get(shaped), undefined)
    assert.deepEqual(reports, [
      { idHash: truncated, reason: 'unparsable' },
      { idHash: shaped, reason: 'invalid' },
    ])
    assert.equal(await store.prune(), 2)
    assert.deepEqual(readdirSync(dir), [])
  })

  it("leaves other programs' files and entries that are not files alone in prune and stats", async () => {
    const dir = freshDir()
    const store = createFileStore({ dir, onCorruptRecord: () => {} })
    const [live, expired] = [newIdHash(), newIdHash()]
    await store.set(live, record())
    await store.set(expired, record({ expires: Date.now() - 1 }))
    writeFileSync(join(dir, 'package.json'), '{"name":"app"}', { mode: 0o600 })
    writeFileSync(join(dir, 'notes.json'), 'not json', { mode: 0o600 })
    mkdirSync(join(dir, `${newIdHash()}.json`))
    execFileSync('mkfifo', [join(dir, `${newIdHash()}.json`)])
    assert.deepEqual(
      { live: (await store.stats()).live, expired: (await store.stats()).expired },
      { live: 1, expired: 1 },
    )
    assert.equal(await store.prune(), 1)
    assert.deepEqual((await store.stats()).expired, 0, 'what stats counts, prune removes')
    assert.equal(readdirSync(dir).length, 5, 'the live record and the four foreign entries stay')
    assert.equal(readFileSync(join(dir, 'package.json'), 'utf8'), '{"name":"app"}')
  })

  it('fails prune with StoreUnavailableError when a file cannot be removed, yet reads an expired one as no session', async () => {
    const dir = freshDir()
    const id = newIdHash()
    await createFileStore({ dir }).set(id, record({ expires: Date.now() - 1 }))
    const readOnly = createFileStore({ dir, fs: failing('EROFS', (name) => name === 'unlink') })
    assert.equal(await readOnly.get(id), undefined)
    await assert.rejects(readOnly.prune(), (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError)
      assert.equal((error.cause as { code: string }).code, 'EROFS')
      return true
    })
    assert.deepEqual(readdirSync(dir), [`${id}.json`])
  })

  it('removes temporary files left by a crash when they are old', async () => {
    const dir = freshDir()
    const store = createFileStore({ dir })
    const stale = join(dir, `.${newIdHash()}.0123456789ab.tmp`)
    const recent = join(dir, `.${newIdHash()}.ba9876543210.tmp`)
    writeFileSync(stale, '{"da')
    writeFileSync(recent, '{"da')
    const past = new Date(Date.now() - 3_600_000)
    utimesSync(stale, past, past)
    await store.prune()
    assert.equal(existsSync(stale), false)
    assert.equal(existsSync(recent), true, 'a write in progress is left alone')
  })

  it('never touches a path outside its directory', async () => {
    const dir = freshDir()
    const store = createFileStore({ dir })
    assert.equal(await store.set('../escape', record()), false)
    assert.equal(await store.get('../escape'), undefined)
    assert.equal(existsSync(join(root, 'escape.json')), false)
  })

  it('reports a failing disk as StoreUnavailableError and keeps the previous file', async () => {
    const dir = freshDir()
    const id = newIdHash()
    await createFileStore({ dir }).set(id, record({ data: { user: 'before' } }))
    const writesFail = failing(
      'ENOSPC',
      (name, args) => name === 'open' && String(args[0]).endsWith('.tmp'),
    )
    const store = createFileStore({ dir, fs: writesFail })
    await assert.rejects(store.set(id, record({ data: { user: 'after' } })), (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError)
      assert.equal((error.cause as { code: string }).code, 'ENOSPC')
      return true
    })
    assert.deepEqual((await store.get(id))?.data, { user: 'before' }, 'reads still work')
    const renameFails = createFileStore({ dir, fs: failing('EROFS', (name) => name === 'rename') })
    await assert.rejects(
      renameFails.patch(id, {
        data: { set: new Map([['user', 'after']]), deleted: new Set() },
        system: { set: new Map(), deleted: new Set() },
        lastActive: 0,
        expires: Date.now() + 1000,
      }),
      { code: 'ERR_STORE_UNAVAILABLE' },
    )
    assert.deepEqual(readdirSync(dir), [`${id}.json`], 'the temporary file was removed')
    assert.deepEqual((await store.get(id))?.data, { user: 'before' })
  })
})
