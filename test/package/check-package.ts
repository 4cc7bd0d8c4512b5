// `npm run check:package`: checks the package as a user's install gets it, from the dist/ that
// `npm run build` left (it does not build). It packs the tarball once, then:
//   1. the file list: dist's .js and .d.ts for every export and the bin, README, package.json (and
//      LICENSE when there is one); no tests, benchmarks, examples or .data; every source map's
//      sources inside the tarball; every package that dist imports declared as a dependency or peer;
//   2. publint --strict and attw --profile esm-only on that tarball;
//   3. a fresh project outside this checkout installs it offline (its dependencies are packed from
//      this checkout's node_modules, so no registry is asked), imports every subpath under plain
//      node with no peer installed (each may miss only its own framework or driver), checks that
//      the bin names the driver to install for each store URL, links the
//      peers, imports every subpath again, type-checks test/package/consumer.ts under
//      moduleResolution node16 (skipLibCheck off) and bundler, compiles and runs it, and runs the bin
//      through npx.
// Any failure prints one line starting `check:package: FAIL` and exits 1. CHECK_PACKAGE_KEEP=1 keeps
// the temporary project after a pass too (it is always kept after a failure).
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const repoModules = join(root, 'node_modules')
const started = performance.now()

class CheckFailure extends Error {}
const fail = (reason: string): never => {
  throw new CheckFailure(reason)
}

interface PackageJson {
  name: string
  version: string
  license?: string
  bin?: Record<string, string>
  scripts?: Record<string, string>
  exports: Record<string, string | Record<string, string>>
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
}

/**
 * The peer a user of each subpath has anyway: importing that subpath with nothing else installed
 * may fail only for want of these. A subpath not listed must import with no peer at all.
 */
const subpathPeers: Record<string, string[]> = {
  './express': ['express'],
  './fastify': ['fastify'],
  './hono': ['hono'],
  './koa': ['koa'],
  './redis': ['redis'],
  './postgres': ['pg'],
  './sqlite': ['better-sqlite3'],
}
/** Type packages a TypeScript user of a subpath installs with its peer (the peer ships none). */
const peerTypes = ['@types/express', '@types/koa', '@types/pg', '@types/better-sqlite3']

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson
const work = mkdtempSync(join(tmpdir(), 'cloakroom-check-package-'))

const step = async (name: string, run: () => void | Promise<void>): Promise<void> => {
  const at = performance.now()
  await run()
  console.log(`check:package: ${name} ok (${((performance.now() - at) / 1000).toFixed(1)} s)`)
}

let lastStderr = ''
/**
 * Runs a command; on a non-zero exit prints its output and fails with `reason` (and the line
 * `detail` picks from the output, if any). Returns its standard output; its standard error stays
 * in `lastStderr`.
 */
const run = (
  command: string,
  args: string[],
  reason: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; detail?: RegExp } = {},
): string => {
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd: options.cwd ?? root,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  if (result.error) fail(`${reason}: ${result.error.message}`)
  if (result.status !== 0) {
    const output = result.stdout + result.stderr
    process.stderr.write(output)
    const detail = options.detail && output.split('\n').find((line) => options.detail!.test(line))
    fail(
      detail
        ? `${reason}: ${detail.trim()}`
        : `${reason} (${[command, ...args].join(' ')} exited ${result.status ?? result.signal})`,
    )
  }
  lastStderr = result.stderr
  return result.stdout
}

const bin = (name: string): string => join(repoModules, '.bin', name)
const specifierOf = (subpath: string): string =>
  subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`
const subpaths = Object.keys(pkg.exports).filter((subpath) => subpath !== './package.json')

let tarball = ''
let files = new Set<string>()

const pack = (): void => {
  if (!existsSync(join(root, 'dist', 'index.js'))) fail('no dist/: run `npm run build` first')
  const built = statSync(join(root, 'dist', 'index.js')).mtimeMs
  const newer = (readdirSync(join(root, 'src'), { recursive: true }) as string[]).find(
    (file) =>
      file.endsWith('.ts') &&
      !file.endsWith('.test.ts') &&
      statSync(join(root, 'src', file)).mtimeMs > built,
  )
  if (newer) fail(`src/${newer} is newer than dist/: run \`npm run build\` first`)
  // --ignore-scripts: prepack would build again; CI has just built.
  const out = run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    'npm pack failed',
  )
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[]
  if (!info) fail('npm pack printed no tarball')
  tarball = join(work, info!.filename)
  files = new Set(info!.files.map((file) => file.path))
  console.log(`check:package: packed ${info!.filename}, ${files.size} files`)
}

const checkFiles = (): void => {
  const shipped = [...files]
  const forbidden = shipped.filter((file) =>
    /(^|\/)(test|tests|__tests__|bench|examples|\.data|test-artifacts)\/|\.test(-d)?\.|\.tsbuildinfo$/.test(
      file,
    ),
  )
  if (forbidden.length > 0) fail(`the tarball ships ${forbidden.join(', ')}`)
  const required = ['package.json', 'README.md']
  const license = readdirSync(root).find((file) => /^(LICEN[SC]E|COPYING)(\.|$)/i.test(file))
  if (license) required.push(license)
  else if (pkg.license)
    console.log(
      `check:package: warning: package.json says license ${pkg.license} but there is no LICENSE file to ship`,
    )
  for (const target of Object.values(pkg.exports)) {
    const paths = typeof target === 'string' ? [target] : Object.values(target)
    required.push(...paths.map((path) => posix.normalize(path)))
  }
  required.push(...Object.values(pkg.bin ?? {}).map((path) => posix.normalize(path)))
  for (const file of shipped) {
    if (/^dist\/.*\.js$/.test(file)) required.push(file.replace(/\.js$/, '.d.ts'))
  }
  const missing = [...new Set(required)].filter((file) => !files.has(file))
  if (missing.length > 0) fail(`the tarball lacks ${missing.join(', ')}`)

  const unlisted: string[] = []
  for (const file of shipped) {
    const text = /\.(js|d\.ts)$/.test(file) ? readFileSync(join(root, file), 'utf8') : ''
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1]
    if (url && !files.has(posix.join(posix.dirname(file), url))) unlisted.push(`${file} → ${url}`)
    if (!file.endsWith('.map')) continue
    const map = JSON.parse(readFileSync(join(root, file), 'utf8')) as {
      sourceRoot?: string
      sources: string[]
      sourcesContent?: unknown[]
    }
    map.sources.forEach((source, index) => {
      if (map.sourcesContent?.[index] != null) return
      const path = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source))
      if (!files.has(path)) unlisted.push(`${file} → ${path}`)
    })
  }
  if (unlisted.length > 0)
    fail(`${unlisted.length} source map references point outside the tarball, e.g. ${unlisted[0]!}`)

  const builtins = new Set(builtinModules)
  const declared = new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
  ])
  const undeclared = new Set<string>()
  for (const file of shipped) {
    if (!/\.(js|d\.ts)$/.test(file)) continue
    // Code only: doc comments quote imports of the user's own.
    const code = readFileSync(join(root, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '')
    for (const [, specifier] of code.matchAll(
      /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm,
    )) {
      if (
        !specifier ||
        specifier.startsWith('.') ||
        specifier.startsWith('node:') ||
        builtins.has(specifier)
      )
        continue
      const name = specifier.startsWith('@')
        ? specifier.split('/').slice(0, 2).join('/')
        : specifier.split('/')[0]!
      if (name !== pkg.name && !declared.has(name)) undeclared.add(`${name} (${file})`)
    }
  }
  if (undeclared.size > 0)
    fail(`dist imports packages package.json does not declare: ${[...undeclared].join(', ')}`)
  const requiredPeers = Object.keys(pkg.peerDependencies ?? {}).filter(
    (name) => pkg.peerDependenciesMeta?.[name]?.optional !== true,
  )
  if (requiredPeers.length > 0)
    fail(`peers npm would install for every user (mark them optional): ${requiredPeers.join(', ')}`)
  const installScripts = ['preinstall', 'install', 'postinstall'].filter(
    (name) => pkg.scripts?.[name],
  )
  if (installScripts.length > 0)
    fail(`the package runs install scripts: ${installScripts.join(', ')}`)
}

const lint = (): void => {
  run(bin('publint'), ['run', tarball, '--strict'], 'publint', { detail: /^\d+\. / })
  run(
    bin('attw'),
    [tarball, '--profile', 'esm-only', '--format', 'table-flipped', '--no-color'],
    'are-the-types-wrong',
    { detail: /^(?!\(ignored).*https:\/\/github\.com\/arethetypeswrong/ },
  )
}

let consumer = ''
const install = (): void => {
  consumer = join(work, 'consumer')
  mkdirSync(consumer)
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
  )
  // The package's own dependencies, packed from this checkout's install (the versions its lockfile
  // chose), so that `npm install --offline` needs no registry metadata.
  const deps = Object.keys(pkg.dependencies ?? {}).map((name) => {
    const dir = join(repoModules, name)
    if (!existsSync(dir)) fail(`dependency ${name} is not installed in node_modules: run npm ci`)
    const out = run(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', work, dir],
      `npm pack ${name} failed`,
    )
    return join(work, (JSON.parse(out) as { filename: string }[])[0]!.filename)
  })
  run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball, ...deps],
    'the tarball does not install into a fresh project',
    { cwd: consumer },
  )
  // A dependency whose engines leave out this Node (npm only warns) breaks users on it.
  const engine = /EBADENGINE.*\n.*package: '([^']+)'/.exec(lastStderr)
  if (engine) fail(`dependency ${engine[1]!} does not support Node ${process.version} (EBADENGINE)`)
  const installed = join(consumer, 'node_modules', pkg.name)
  if (!existsSync(join(installed, 'package.json')))
    fail('npm install left no node_modules/cloakroom')
}

/** Imports every subpath in one node process run in the consumer; returns each one's error. */
const importAll = (): Record<string, { code?: string; message: string } | null> => {
  const script = `
    const results = {}
    for (const specifier of ${JSON.stringify(subpaths.map(specifierOf))}) {
      try {
        const url = import.meta.resolve(specifier)
        if (!url.startsWith(${JSON.stringify(`file://${realpathSync(consumer)}/node_modules/`)}))
          throw Object.assign(new Error(specifier + ' resolved outside the consumer: ' + url), { code: 'OUTSIDE' })
        const module = await import(specifier)
        if (Object.keys(module).length === 0) throw new Error(specifier + ' exports nothing')
        results[specifier] = null
      } catch (error) {
        results[specifier] = { code: error.code, message: String(error.message).split('\\n')[0] }
      }
    }
    console.log(JSON.stringify(results))
  `
  const out = run(process.execPath, ['--input-type=module', '-e', script], 'import check crashed', {
    cwd: consumer,
  })
  return JSON.parse(out) as Record<string, { code?: string; message: string } | null>
}

const importWithoutPeers = (): void => {
  const results = importAll()
  for (const subpath of subpaths) {
    const error = results[specifierOf(subpath)]
    if (!error) continue
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(error.message)?.[1]
    const allowed = subpathPeers[subpath] ?? []
    if (
      error.code === 'ERR_MODULE_NOT_FOUND' &&
      missing &&
      allowed.some((peer) => missing === peer || missing.startsWith(`${peer}/`))
    )
      continue
    fail(
      `import('${specifierOf(subpath)}') with only its own peer${allowed.length ? ` (${allowed.join(', ')})` : 's'} missing: ${error.message}`,
    )
  }
}

/**
 * Links the peers, their type packages and TypeScript from this checkout's node_modules, with
 * their dependencies hoisted beside them as npm would install them (the .d.ts files of cloakroom
 * may name a package such as express-serve-static-core that only a peer's types depend on).
 */
const linkPeers = (): void => {
  const roots = [
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...peerTypes,
    '@types/node',
    'typescript',
  ]
  const queue = [...roots]
  const seen = new Set<string>()
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (seen.has(name)) continue
    seen.add(name)
    const target = join(repoModules, name)
    if (!existsSync(target)) {
      // A dependency npm nested under its dependent resolves from the link's real path anyway.
      if (roots.includes(name)) fail(`${name} is not installed in node_modules: run npm ci`)
      continue
    }
    const link = join(consumer, 'node_modules', name)
    if (!existsSync(link)) {
      mkdirSync(dirname(link), { recursive: true })
      symlinkSync(target, link, 'dir')
    }
    const manifest = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>
    }
    queue.push(...Object.keys(manifest.dependencies ?? {}))
  }
}

const importWithPeers = (): void => {
  const results = importAll()
  for (const [specifier, error] of Object.entries(results)) {
    if (error) fail(`import('${specifier}') with its peers installed: ${error.message}`)
  }
}

/** Runs tsc on one config; resolves to its exit status and output. */
const tsc = (config: string): Promise<{ status: number | null; output: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(consumer, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        config,
        '--pretty',
        'false',
      ],
      { cwd: consumer, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, output }))
  })

const typecheckAndRun = async (): Promise<void> => {
  copyFileSync(join(root, 'test', 'package', 'consumer.ts'), join(consumer, 'consumer.ts'))
  const base = {
    target: 'ES2022',
    lib: ['ES2023'],
    strict: true,
    skipLibCheck: false,
    types: ['node'],
    verbatimModuleSyntax: true,
  }
  const configs = {
    node16: { ...base, module: 'node16', moduleResolution: 'node16', outDir: 'out' },
    // The node16 pass checks the .d.ts files themselves; this one checks how a bundler-resolved
    // consumer sees them, and skips the libraries' own checking (half the time).
    bundler: {
      ...base,
      module: 'esnext',
      moduleResolution: 'bundler',
      noEmit: true,
      skipLibCheck: true,
    },
  }
  const names = Object.keys(configs) as (keyof typeof configs)[]
  for (const name of names) {
    writeFileSync(
      join(consumer, `tsconfig.${name}.json`),
      JSON.stringify({ compilerOptions: configs[name], files: ['consumer.ts'] }, null, 2),
    )
  }
  // Both at once: each is one core's work for some seconds.
  const results = await Promise.all(names.map((name) => tsc(`tsconfig.${name}.json`)))
  names.forEach((name, index) => {
    const { status, output } = results[index]!
    // With skipLibCheck off, cloakroom's .d.ts files are checked; errors inside other packages' types
    // (such as @types/koa against content-disposition's own types) are theirs and only counted.
    const errors = output.split('\n').filter((line) => /error TS\d+/.test(line))
    const ours = errors.filter(
      (line) =>
        !/^(\.\.\/)*[^(]*node_modules\//.test(line) || line.includes(`node_modules/${pkg.name}/`),
    )
    if (ours.length > 0 || (status !== 0 && errors.length === 0)) {
      process.stderr.write(ours.length > 0 ? ours.join('\n') + '\n' : output)
      fail(
        `a consumer does not type-check under moduleResolution ${name}: ${ours[0] ?? `tsc exited ${String(status)}`}`,
      )
    }
    if (errors.length > 0)
      console.log(
        `check:package: moduleResolution ${name}: ignored ${errors.length} error(s) in other packages' types, e.g. ${errors[0]!}`,
      )
  })
  const out = run(
    process.execPath,
    [join('out', 'consumer.js')],
    'the consumer app failed at run time',
    {
      cwd: consumer,
    },
  )
  if (!out.includes('consumer ok')) fail('the consumer app did not finish')
}

const runBin = (): void => {
  for (const name of Object.keys(pkg.bin ?? {})) {
    const help = run(
      'npx',
      ['--offline', '--no', name, '--help'],
      `npx ${name} --help failed in the consumer`,
      { cwd: consumer, env: { npm_config_yes: 'false' } },
    )
    if (!/usage/i.test(help)) fail(`npx ${name} --help printed no usage`)
  }
  const key = run(
    'npx',
    ['--offline', '--no', 'cloakroom', 'keygen'],
    'npx cloakroom keygen failed',
    {
      cwd: consumer,
    },
  ).trim()
  if (!/^[A-Za-z0-9_-]{43}$/.test(key)) fail(`npx cloakroom keygen printed ${JSON.stringify(key)}`)
}

/** With no driver installed, each store URL makes the bin say which package to install. */
const runBinWithoutDrivers = (): void => {
  const database = join(work, 'empty.db')
  writeFileSync(database, '')
  const cases = [
    { args: ['stats', '--store', 'redis://127.0.0.1:1'], driver: 'redis' },
    { args: ['prune', '--store', 'postgres://127.0.0.1:1/none'], driver: 'pg' },
    { args: ['stats', '--store', `sqlite:${database}`], driver: 'better-sqlite3' },
  ]
  for (const { args, driver } of cases) {
    const result = spawnSync('npx', ['--offline', '--no', 'cloakroom', ...args], {
      cwd: consumer,
      encoding: 'utf8',
    })
    const expected = `needs the ${driver} package (npm install ${driver}).\n`
    if (result.status !== 1 || !result.stderr.endsWith(expected) || /\n./.test(result.stderr)) {
      fail(
        `npx cloakroom ${args.join(' ')} without ${driver} exited ${result.status} with ${JSON.stringify(result.stderr)}, not 1 with one line ending "${expected.trim()}"`,
      )
    }
  }
}

let ok = false
try {
  await step('pack', pack)
  await step('files, source maps and declared imports', checkFiles)
  await step('publint and attw', lint)
  await step('offline install into a fresh project', install)
  await step('import without peers', importWithoutPeers)
  await step('npx bin without drivers', runBinWithoutDrivers)
  linkPeers()
  await step('import with peers', importWithPeers)
  await step('consumer type-check (node16, bundler) and run', typecheckAndRun)
  await step('npx bin', runBin)
  ok = true
  console.log(
    `check:package: all ok in ${((performance.now() - started) / 1000).toFixed(1)} s (${basename(tarball)}, ${files.size} files)`,
  )
} catch (error) {
  const reason = error instanceof CheckFailure ? error.message : String(error)
  console.error(`check:package: FAIL ${reason}`)
  console.error(`check:package: work files kept in ${work}`)
  process.exitCode = 1
} finally {
  if (ok && !process.env.CHECK_PACKAGE_KEEP) rmSync(work, { recursive: true, force: true })
  else if (ok) console.log(`check:package: work files kept in ${work}`)
}
