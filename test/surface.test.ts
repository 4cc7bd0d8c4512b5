import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, it } from 'node:test'

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>
  bin: Record<string, string>
}

describe('package surface', () => {
  it('maps every subpath export to an entry file in src/, and every entry file to an export', () => {
    const entries = readdirSync('src').filter(
      (file) => file.endsWith('.ts') && !file.endsWith('.test.ts'),
    )
    const exported = new Set<string>()
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (subpath === './package.json') continue
      assert.equal(typeof target, 'object', subpath)
      const { types, default: js } = target as { types: string; default: string }
      const name = subpath === '.' ? 'index' : subpath.slice(2)
      assert.equal(js, `./dist/${name}.js`, subpath)
      assert.equal(types, `./dist/${name}.d.ts`, subpath)
      assert.ok(entries.includes(`${name}.ts`), `${subpath} has no src/${name}.ts`)
      exported.add(`${name}.ts`)
    }
    // The CLI is a bin entry, not a subpath.
    assert.equal(pkg.bin.cloakroom, './dist/cli.js')
    assert.deepEqual(entries.filter((file) => !exported.has(file)).sort(), ['cli.ts'])
  })

  it('keeps entry files to re-exports under a @module block that names the subpath', () => {
    for (const [subpath] of Object.entries(pkg.exports)) {
      if (subpath === './package.json') continue
      const name = subpath === '.' ? 'index' : subpath.slice(2)
      const text = readFileSync(`src/${name}.ts`, 'utf8')
      const specifier = subpath === '.' ? 'cloakroom' : `cloakroom/${name}`
      assert.match(
        text,
        new RegExp(`@module ${specifier.replace('/', '\\/')}\\b`),
        `src/${name}.ts`,
      )
      const rest = text
        .replace(/\/\*\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '')
        .replace(/export\s+(type\s+)?(\{[^}]*\}|\*)\s+from\s+'[^']+'/g, '')
      assert.equal(rest.trim(), '', `src/${name}.ts holds more than re-exports`)
    }
  })
})
