/**
 * Type-checks every ```ts block of README.md against the library's real types, as a user would
 * write it: `cloakroom` and `cloakroom/<subpath>` resolve to `src/` through the `paths` of
 * tsconfig.json, whose strict options apply too. A block that does not compile fails the test
 * with its README line, so a misspelled export, a wrong option name or a wrong type cannot rot
 * in the README unnoticed.
 *
 * @remarks
 * Each block is one module, a virtual file (`export {}` is appended, so that a block without
 * imports is one too). Blocks may use the few free names of {@link PRELUDE}, which the README's
 * prose defines (`factory`, `req`, `session`, ...). All blocks are compiled in one program,
 * except that a block augmenting a module (`declare module 'cloakroom'`) gets a program of its
 * own: an augmentation changes the types of every file it is compiled with. `noUnusedLocals` and
 * `noUnusedParameters` are off, since a snippet may show a value without using it.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import ts from 'typescript'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Where the virtual files live: inside the package, so that its `"type": "module"` applies. */
const VIRTUAL_DIR = `${ROOT}.readme-snippets/`

/**
 * The free names README fragments use, typed as the prose around them defines them. A global
 * script: a block that declares the same name shadows it.
 */
const PRELUDE = `
/** The app's secret(s), as \`secrets\` of the cookie factories. */
declare const secrets: import('cloakroom').Secrets
/** The app's factory; adapter snippets take any, "Sessions of a user" needs a store factory. */
declare const factory: import('cloakroom').StoreSessionFactory
/** The request and its session, as an adapter hands them to a handler. */
declare const req: import('cloakroom/node').SessionRequest
declare const session: import('cloakroom').Session
/** The logged-in user of a login handler. */
declare const user: { id: string }
/** A node-redis client, as created in "Redis and PostgreSQL". */
declare const client: import('redis').RedisClientType
`

/** Local modules that README blocks import, as an app would have them. */
const LOCAL_MODULES: Readonly<Record<string, string>> = {
  'my-store.ts': `import type { SessionStore } from 'cloakroom'
export declare function createMyStore(): SessionStore
`,
}

interface Snippet {
  /** The line of the block's first line of code in its Markdown file. */
  readonly line: number
  readonly code: string
}

/**
 * @param markdown a Markdown document
 * @returns its ```ts (and ```typescript) blocks
 */
function extractSnippets(markdown: string): Snippet[] {
  const snippets: Snippet[] = []
  let open: { line: number; code: string[] } | undefined
  markdown.split('\n').forEach((text, index) => {
    if (open === undefined) {
      if (/^\s*```(ts|typescript)\s*$/.test(text)) open = { line: index + 2, code: [] }
    } else if (/^\s*```\s*$/.test(text)) {
      snippets.push({ line: open.line, code: open.code.join('\n') })
      open = undefined
    } else {
      open.code.push(text)
    }
  })
  assert.equal(open, undefined, `a code block opened on line ${(open?.line ?? 0) - 1} never ends`)
  return snippets
}

/** @returns the options of tsconfig.json, for type-checking only */
function compilerOptions(): ts.CompilerOptions {
  const path = `${ROOT}tsconfig.json`
  const { config } = ts.readConfigFile(path, (file) => ts.sys.readFile(file)) as { config: unknown }
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, path)
  return {
    ...options,
    noEmit: true,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    noUnusedLocals: false,
    noUnusedParameters: false,
  }
}

const OPTIONS = compilerOptions()
/** Files on disk (lib, @types, src), parsed once for every program. */
const parsed = new Map<string, ts.SourceFile | undefined>()

/**
 * @param files virtual file name → contents, compiled as one program with the files on disk
 * @returns the diagnostics of the program's options and of the virtual files
 */
function compile(files: ReadonlyMap<string, string>): ts.Diagnostic[] {
  const base = ts.createCompilerHost(OPTIONS, true)
  const host: ts.CompilerHost = {
    ...base,
    directoryExists: (name) => `${name}/` === VIRTUAL_DIR || ts.sys.directoryExists(name),
    fileExists: (name) => files.has(name) || base.fileExists(name),
    readFile: (name) => files.get(name) ?? base.readFile(name),
    getSourceFile: (name, language, onError) => {
      const text = files.get(name)
      if (text !== undefined) return ts.createSourceFile(name, text, language, true)
      if (!parsed.has(name)) parsed.set(name, base.getSourceFile(name, language, onError))
      return parsed.get(name)
    },
  }
  const program = ts.createProgram({ rootNames: [...files.keys()], options: OPTIONS, host })
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()]
  for (const name of files.keys()) {
    const file = program.getSourceFile(name)!
    diagnostics.push(...program.getSyntacticDiagnostics(file))
    diagnostics.push(...program.getSemanticDiagnostics(file))
  }
  return diagnostics
}

/**
 * @param document the Markdown file's name, for messages
 * @param snippets its blocks
 * @returns one line per error, `<document>:<line>:<column> error TS<code>: <message>`
 */
function checkSnippets(document: string, snippets: readonly Snippet[]): string[] {
  const shared = new Map([[`${VIRTUAL_DIR}prelude.d.ts`, PRELUDE]])
  for (const [name, text] of Object.entries(LOCAL_MODULES)) shared.set(VIRTUAL_DIR + name, text)
  const main = new Map(shared)
  const programs = [main]
  const firstLine = new Map<string, number>()
  for (const { line, code } of snippets) {
    const name = `${VIRTUAL_DIR}line-${line}.ts`
    firstLine.set(name, line)
    let files = main
    if (/^\s*declare module /m.test(code)) programs.push((files = new Map(shared)))
    files.set(name, `${code}\nexport {}\n`)
  }
  return programs.flatMap(compile).map(({ file, start, code, messageText }) => {
    const message = ts.flattenDiagnosticMessageText(messageText, '\n    ')
    if (file === undefined || start === undefined) return `error TS${code}: ${message}`
    const { line, character } = file.getLineAndCharacterOfPosition(start)
    const first = firstLine.get(file.fileName)
    const where =
      first === undefined
        ? `${file.fileName}:${line + 1}:${character + 1}`
        : `${document}:${first + line}:${character + 1}`
    return `${where} error TS${code}: ${message}`
  })
}

describe('README.md code blocks', () => {
  it('type-check against the library, as a user would write them', () => {
    const snippets = extractSnippets(readFileSync(`${ROOT}README.md`, 'utf8'))
    assert.ok(snippets.length >= 20, `only ${snippets.length} ts blocks found in README.md`)
    const errors = checkSnippets('README.md', snippets)
    assert.ok(
      errors.length === 0,
      `README.md has ts blocks that do not compile:\n${errors.join('\n')}`,
    )
  })

  it('name the line of a misspelled export, a wrong option name and a wrong type', () => {
    const markdown = [
      'Three broken blocks:',
      '```ts',
      "import { createSignedCookieFactori } from 'cloakroom'",
      '```',
      '```ts',
      "import { createSignedCookieFactory } from 'cloakroom'",
      'createSignedCookieFactory({ secrets, timeOut: 60 })',
      '```',
      '```ts',
      "import { createMemoryStore } from 'cloakroom'",
      "createMemoryStore({ maxEntries: '100' })",
      '```',
    ].join('\n')
    const errors = checkSnippets('broken.md', extractSnippets(markdown))
    assert.equal(errors.length, 3, errors.join('\n'))
    assert.match(errors[0]!, /^broken\.md:3:10 error TS2724: .*'createSignedCookieFactori'/)
    assert.match(errors[1]!, /^broken\.md:7:38 error TS2769: .*'timeOut' does not exist/s)
    assert.match(errors[2]!, /^broken\.md:11:21 error TS2322: Type 'string' is not assignable/)
  })
})
