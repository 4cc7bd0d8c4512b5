import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import ts from 'typescript'
import { createRandomPool } from './random-pool.js'

describe('createRandomPool', () => {
  it('hands out every byte once: no two draws overlap, across refills', () => {
    const pool = createRandomPool(64)
    const draws = Array.from({ length: 200 }, () => Buffer.from(pool(12)).toString('hex'))
    assert.ok(draws.every((draw) => draw.length === 24))
    assert.equal(new Set(draws).size, draws.length)
  })

  it('never changes bytes already handed out when it refills', () => {
    const pool = createRandomPool(32)
    const first = pool(8)
    const copy = Buffer.from(first)
    for (let index = 0; index < 20; index++) pool(8)
    assert.deepEqual(Buffer.from(first), copy)
  })

  it('serves large requests directly, at the size asked', () => {
    const pool = createRandomPool(64)
    assert.equal(pool(1000).length, 1000)
    assert.equal(pool(16).length, 16)
  })

  it('hands out new bytes in every process started from a startup snapshot', () => {
    // A snapshot's entry script may require only built-in modules: this module goes in as
    // CommonJS. The pool is used while the snapshot is built, so it holds a drawn block.
    const source = readFileSync(new URL('./random-pool.ts', import.meta.url), 'utf8')
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    })
    const dir = mkdtempSync(join(tmpdir(), 'cloakroom-snapshot-'))
    try {
      const entry = join(dir, 'entry.js')
      writeFileSync(
        entry,
        [
          'const poolModule = { exports: {} }',
          `;(function (exports, module) {\n${outputText}\n})(poolModule.exports, poolModule)`,
          'const pool = poolModule.exports.pooledRandomBytes',
          'pool(16)',
          "require('node:v8').startupSnapshot.setDeserializeMainFunction(() =>",
          "  process.stdout.write(Buffer.from(pool(16)).toString('hex')))",
        ].join('\n'),
      )
      const blob = join(dir, 'snapshot.blob')
      execFileSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', entry], {
        cwd: dir,
      })
      const draw = (): string =>
        execFileSync(process.execPath, ['--snapshot-blob', blob], { encoding: 'utf8' })
      const first = draw()
      assert.match(first, /^[0-9a-f]{32}$/)
      assert.notEqual(draw(), first)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
