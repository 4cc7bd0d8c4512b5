import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { createSqliteStore } from 'cloakroom/sqlite'
import { runStoreSuite } from 'cloakroom/testing'

const root = mkdtempSync(join(tmpdir(), 'cloakroom-sqlite-suite-'))
after(() => rmSync(root, { recursive: true, force: true }))

let count = 0
runStoreSuite('sqlite store (file)', () =>
  createSqliteStore({ database: join(root, `suite-${count++}.db`) }),
)
runStoreSuite('sqlite store (shared file, own table)', () =>
  createSqliteStore({ database: join(root, 'shared.db'), table: `sessions_${count++}` }),
)
