import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { createFileStore } from 'cloakroom/file'
import { runStoreSuite } from 'cloakroom/testing'

const root = mkdtempSync(join(tmpdir(), 'cloakroom-file-suite-'))
after(() => rmSync(root, { recursive: true, force: true }))

let count = 0
runStoreSuite('file store', () => createFileStore({ dir: join(root, `store-${count++}`) }))
