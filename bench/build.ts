/**
 * Compiles `src/` and `bench/` to plain JavaScript (TypeScript's own transpiler, as
 * `npm run build` would), so the servers run on bare `node`: no tsx loader thread and no
 * esbuild `keepNames` wrapper around every closure, which would tax Cloakroom's TypeScript
 * sources but not the peers' published JavaScript.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import ts from 'typescript'

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') &&
      !entry.name.endsWith('.test.ts') &&
      !entry.name.endsWith('.d.ts')
      ? [path]
      : []
  })
}

/**
 * @param root the repository
 * @returns the directory holding the compiled tree (`src/` and `bench/` inside it)
 */
export function buildServers(root: string): string {
  // Inside node_modules, so the compiled files still resolve the repository's packages.
  const out = join(root, 'node_modules', '.cache', 'cloakroom-bench')
  rmSync(out, { recursive: true, force: true })
  for (const file of [...sources(join(root, 'src')), ...sources(join(root, 'bench'))]) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
        sourceMap: false,
      },
    })
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js')
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, outputText)
  }
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n')
  return out
}
