import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { createMemoryStore } from 'cloakroom'
import { createFileStore } from 'cloakroom/file'
import { createSqliteStore } from 'cloakroom/sqlite'
import { runStoreConcurrencySuite } from './helpers/store-concurrency.js'

const root = mkdtempSync(join(tmpdir(), 'cloakroom-concurrency-'))
after(() => rmSync(root, { recursive: true, force: true }))
let count = 0

runStoreConcurrencySuite('memory store', () => createMemoryStore({ sweepIntervalMs: null }))
runStoreConcurrencySuite('file store', () =>
  createFileStore({ dir: join(root, `files-${count++}`) }),
)
runStoreConcurrencySuite('sqlite store', () =>
  createSqliteStore({ database: join(root, `db-${count++}.sqlite`) }),
)
