/**
 * `npm run bench`: every scenario of `scenarios.ts`, each server in its own process pinned to
 * core 0 and autocannon in another pinned to core 1, plus the codec micro-benchmark.
 *
 * Options: `--runs N` (3), `--duration S` seconds per run (3), `--warmup S` (1), `--connections N`
 * (50), `--filter TEXT` (only scenarios whose "framework name" contains it; the framework's bare
 * server always runs), `--quick` (1 run of 1 s, no warm-up: a smoke test, not figures),
 * `--no-codec`, `--no-readme`. Every case costs its warm-up plus, per run, a bare measurement
 * and its own (about 25 s at the defaults, with seeding and start-up), so the full matrix of 76
 * cases takes about 35 minutes at the defaults on the 2-core machine (about 55 with `--runs 5`);
 * the estimate for the chosen options is printed first (see `estimateSeconds`).
 *
 * `src/` and `bench/` are first compiled to JavaScript (see `build.ts`), and every child runs on
 * plain `node`. For each framework, its servers start together. Its cases run in two groups:
 * sessions in cookies or memory first, then sessions in files, databases and Redis (whose writes
 * leave work behind that would slow the next case; `sync` runs after each of their write cases).
 * In each group every case is warmed up, then the rounds run: in every round each case is
 * measured right after a measurement of the bare framework, and its ratios are to that one, so
 * a ratio compares figures taken seconds apart. A fresh session cookie is fetched from `/seed` (and
 * checked with `/read`) before each measurement; for the rows with a new cookie per request, a
 * fresh pool of `COOKIE_POOL_SIZE` distinct ones, which autocannon sends in turn. Every response's
 * body is checked (see `expectedBody`): a wrong one fails the case. Besides requests/s and p99,
 * each measurement records the server process's CPU time per request (from `/proc`), which other
 * load on the machine disturbs far less, and the share of its core the server used: a bare run
 * below 95% is a warning (the load generator did not saturate it), printed and kept in the report.
 *
 * Full runs write `bench/results/latest.{json,md}`, `bench/results/ratios.svg` and the README's
 * benchmark section; quick or filtered runs write `bench/results/partial*` only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism, release, type } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { buildServers } from './build.js'
import type { CodecResult } from './codec.js'
import type { LoadRequest, LoadResult } from './load.js'
import {
  formatConsoleTable,
  formatMarkdown,
  formatSvg,
  updateReadme,
  type BenchReport,
  type CaseResult,
} from './report.js'
import {
  COOKIE_POOL_SIZE,
  FRAMEWORKS,
  SCENARIOS,
  type Mode,
  type Scenario,
  type Storage,
} from './scenarios.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    filter: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-codec': { type: 'boolean', default: false },
    'no-readme': { type: 'boolean', default: false },
  },
})
const quick = args.quick === true
const runs = Number(args.runs ?? (quick ? 1 : 3))
const duration = Number(args.duration ?? (quick ? 1 : 3))
const warmup = Number(args.warmup ?? (quick ? 0 : 1))
const connections = Number(args.connections ?? 50)
const filter = args.filter?.toLowerCase()

const canPin = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0
const SERVER_CPU = '0'
const LOAD_CPU = '1'

/**
 * Node flags of every server. A server waits idle while the others are measured, and after a
 * few idle seconds V8's memory reducer shrinks its heap, young generation included; the next
 * measurement then pays for more garbage collections while the heap grows back, so a row came
 * out 10–40% slower whenever its server had just been shrunk (bare included). A server under
 * steady load never idles, so the reducer is turned off here, for every server alike.
 */
const SERVER_NODE_FLAGS = ['--no-memory-reducer']

/** Runs the compiled `script` (a path under `bench/`, ending `.ts`), pinned to `cpu` when possible. */
function spawnNode(
  cpu: string,
  script: string,
  scriptArgs: string[],
  options: Parameters<typeof spawn>[2],
  nodeFlags: readonly string[] = [],
): ChildProcess {
  const nodeArgs = [
    ...nodeFlags,
    join(built, 'bench', script.replace(/\.ts$/, '.js')),
    ...scriptArgs,
  ]
  const withCwd = { cwd: root, ...options }
  return canPin
    ? spawn('taskset', ['-c', cpu, process.execPath, ...nodeArgs], withCwd)
    : spawn(process.execPath, nodeArgs, withCwd)
}

const log = (text: string): void => void process.stderr.write(`${text}\n`)
log('compiling src/ and bench/ to JavaScript')
const built = buildServers(root)
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

// --- the load generator ---------------------------------------------------------------------

let loadChild: ChildProcess | undefined
const pending = new Map<number, (result: LoadResult) => void>()
let nextId = 1

async function startLoadGenerator(): Promise<void> {
  const child = spawnNode(LOAD_CPU, 'load.ts', [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  loadChild = child
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)))
    child.on('message', (message: LoadResult) => {
      if (message.id === 0) return resolve()
      pending.get(message.id)?.(message)
      pending.delete(message.id)
    })
  })
}

/** What a measurement sends beyond its URL: see {@link LoadRequest}. */
type LoadOptions = Pick<LoadRequest, 'headers' | 'expectedBody' | 'cookies'>

function load(url: string, seconds: number, options: LoadOptions): Promise<LoadResult> {
  const id = nextId++
  const request: LoadRequest = { id, url, seconds, connections, ...options }
  return new Promise((resolve) => {
    pending.set(id, resolve)
    loadChild!.send(request)
  })
}

// --- the servers ------------------------------------------------------------------------------

interface Running {
  readonly scenario: Scenario
  readonly child?: ChildProcess
  readonly port?: number
  readonly skip?: string
  /**
   * For a Cloakroom server with a store: asks it (`SIGUSR2`) for its store calls per session
   * loaded (one per request) since the last ask, and starts its counts again from 0 (see
   * `bench/servers/cloakroom-factory.ts`). NaN when it does not answer or loaded nothing.
   */
  readonly storeCalls?: () => Promise<number>
}

/** Whether a scenario's server counts its store calls: Cloakroom with a store (or revocation). */
const countsStoreCalls = (scenario: Scenario): boolean =>
  scenario.library === 'cloakroom' &&
  (scenario.storage !== 'cookie' || scenario.env?.CLOAKROOM === 'signed+revocation')

function startServer(scenario: Scenario): Promise<Running> {
  const file = `servers/${scenario.server}.ts`
  if (!existsSync(join(here, file))) {
    return Promise.resolve({ scenario, skip: `no bench/${file} yet` })
  }
  const child = spawnNode(
    SERVER_CPU,
    file,
    [],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production', PORT: '0', ...scenario.env },
    },
    SERVER_NODE_FLAGS,
  )
  let stderr = ''
  child.stderr!.on(
    'data',
    (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-2000)),
  )
  // Answers to `storeCalls()`, in the order asked.
  const waiting: ((callsPerLoad: number) => void)[] = []
  const storeCalls = (): Promise<number> =>
    new Promise((resolve) => {
      // A server that does not answer (it died) gives NaN rather than hang the run.
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(answer), 1)
        resolve(Number.NaN)
      }, 5000)
      const answer = (callsPerLoad: number): void => {
        clearTimeout(timer)
        resolve(callsPerLoad)
      }
      waiting.push(answer)
      child.kill('SIGUSR2')
    })
  return new Promise((resolve) => {
    let buffer = ''
    let started = false
    const timer = setTimeout(() => {
      child.kill()
      resolve({ scenario, skip: 'server did not start within 30 s' })
    }, 30_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      if (started) {
        let line: RegExpExecArray | null
        while ((line = /^store-calls (\d+) (\d+)\n/m.exec(buffer)) !== null) {
          buffer = buffer.slice(line.index + line[0].length)
          waiting.shift()?.(Number(line[1]) / Number(line[2]))
        }
        return
      }
      const ready = /^ready (\d+)$/m.exec(buffer)
      const skip = /^skip (.*)$/m.exec(buffer)
      if (ready) {
        clearTimeout(timer)
        started = true
        buffer = ''
        resolve({
          scenario,
          child,
          port: Number(ready[1]),
          ...(countsStoreCalls(scenario) ? { storeCalls } : {}),
        })
      } else if (skip) {
        clearTimeout(timer)
        resolve({ scenario, skip: skip[1]! })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      const firstError = stderr.split('\n').find((l) => /error/i.test(l)) ?? stderr.split('\n')[0]
      resolve({
        scenario,
        skip: `server exited (${code}): ${firstError?.trim() ?? ''}`.slice(0, 200),
      })
    })
  })
}

function stopServer(running: Running): Promise<void> {
  const child = running.child
  if (child === undefined || child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill()
  })
}

/** What `/read` and `/write` answer when the session holds the seeded user (see `common.ts`). */
const SEEDED_ANSWER = 'u1'

/** How many `/seed` requests a pool keeps in flight. */
const SEED_CONCURRENCY = 32

/**
 * Asks `/seed` for a new session.
 *
 * @param origin the server's origin
 * @returns its `Cookie` header, as a browser would send it back
 */
async function seedCookie(origin: string): Promise<string> {
  const seeded = await fetch(`${origin}/seed`)
  await seeded.text()
  // As a browser would: the last Set-Cookie of a name wins (hono-sessions sends two).
  const jar = new Map<string, string>()
  for (const header of seeded.headers.getSetCookie()) {
    const pair = header.split(';')[0]!
    jar.set(pair.slice(0, pair.indexOf('=')), pair)
  }
  const cookie = [...jar.values()].join('; ')
  if (!seeded.ok || cookie === '')
    throw new Error(`/seed answered ${seeded.status} without a cookie`)
  return cookie
}

/** Throws unless `/read` with `cookie` sees the seeded user. */
async function checkRead(origin: string, cookie: string): Promise<void> {
  const read = await fetch(`${origin}/read`, { headers: { cookie } })
  const body = await read.text()
  if (body !== SEEDED_ANSWER)
    throw new Error(`/read with a seeded cookie answered ${read.status} "${body.slice(0, 40)}"`)
}

/**
 * Seeds `count` distinct sessions, {@link SEED_CONCURRENCY} at a time, plus one more whose cookie
 * is checked with `/read` and left out: a checked cookie would sit in the verified-value cache.
 *
 * @param origin the server's origin
 * @param count how many cookies
 * @returns their `Cookie` headers, all different
 */
async function seedPool(origin: string, count: number): Promise<string[]> {
  const cookies: string[] = []
  let started = 0
  const worker = async (): Promise<void> => {
    while (started++ < count) cookies.push(await seedCookie(origin))
  }
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker))
  if (new Set(cookies).size !== count) {
    throw new Error(`/seed gave ${new Set(cookies).size} distinct cookies out of ${count}`)
  }
  await checkRead(origin, await seedCookie(origin))
  return cookies
}

/**
 * What the requests of a measurement carry: nothing for bare servers, else a fresh cookie from
 * `/seed` (checked with `/read`), or a fresh pool of them for rows with a new cookie per request.
 */
async function sessionCookies(item: Case): Promise<Pick<LoadOptions, 'headers' | 'cookies'>> {
  if (item.mode === 'bare') return { headers: {} }
  const origin = `http://127.0.0.1:${item.running.port!}`
  if (item.running.scenario.newCookiePerRequest === true) {
    const started = performance.now()
    // At least one cookie per connection: each connection loops over its own share.
    const cookies = await seedPool(origin, Math.max(COOKIE_POOL_SIZE, connections))
    item.seedSeconds = (performance.now() - started) / 1000
    return { headers: {}, cookies }
  }
  const cookie = await seedCookie(origin)
  await checkRead(origin, cookie)
  return { headers: { cookie } }
}

/**
 * The body every response of a measurement must have: bare servers and untouched requests answer
 * `ok`; reads and writes answer the seeded user's id, so a request whose cookie was refused (a
 * fresh, anonymous session) fails. The reference server never reads the cookie: its writes
 * answer `ok`.
 */
function expectedBody(item: Case): string {
  if (item.mode === 'bare' || item.mode === 'untouched') return 'ok'
  if (item.running.scenario.library === 'reference' && item.mode === 'write') return 'ok'
  return SEEDED_ANSWER
}

/** CPU time (user + system) a process has used, in microseconds; undefined off Linux. */
function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of the file, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return undefined
  }
}

/**
 * Time the process's main thread (the event loop) spent runnable but waiting for a core, in
 * microseconds: other processes on the server's core. Undefined without `/proc/<pid>/schedstat`.
 */
function waitMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    // "<time on a CPU> <time waiting on a run queue> <timeslices>", in nanoseconds.
    const waited = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1])
    return Number.isFinite(waited) ? waited / 1000 : undefined
  } catch {
    return undefined
  }
}

// --- the rounds -------------------------------------------------------------------------------

interface Sample {
  readonly rps: number
  readonly p99: number
  readonly cpu: number | null
  /**
   * The share of its core the server used during the measurement: requests/s × CPU seconds per
   * request. A CPU-bound server (bare, cookie and memory sessions) given enough load stays near 1.
   */
  readonly busy: number | null
  /** The share of the measurement the server's main thread waited for its core (see {@link waitMicros}). */
  readonly waiting: number | null
  /** Store calls per request, for a Cloakroom server with a store; else null. */
  readonly storeCalls: number | null
}

/** Above this share of a run spent waiting for its core, other processes competed for it. */
const CONTENDED_WAITING = 0.05

/**
 * Below this share of its core, a bare server was not saturated: its requests/s understate what
 * it can do, and every ratio to it is pushed toward 1.
 */
const SATURATED_BUSY = 0.95

interface Case {
  readonly running: Running
  readonly mode: 'bare' | Mode
  /** Each run's figures, with its ratios to the bare measurement taken just before it. */
  readonly samples: (Sample & { ratio: number | null; cpuRatio: number | null })[]
  error?: string
  /** How long the last cookie pool took to seed, in seconds. */
  seedSeconds?: number
}

/** What the run found wrong with its own measurements (unsaturated bare servers). */
const warnings: string[] = []

/** Why a measurement failed, from the load generator's answer. */
function failureOf(result: LoadResult): string {
  if (result.error !== undefined) return result.error
  const wrong = result.wrongBodies ?? 0
  const bodies =
    wrong === 0
      ? ''
      : `, ${wrong} with an unexpected body (first: ${JSON.stringify(result.firstWrongBody ?? '')})`
  return `${result.failures} failed requests out of ${result.requests}${bodies}`
}

async function measureCase(item: Case, seconds: number): Promise<Sample | undefined> {
  const port = item.running.port!
  let cookies: Pick<LoadOptions, 'headers' | 'cookies'>
  try {
    cookies = await sessionCookies(item)
  } catch (error) {
    item.error = error instanceof Error ? error.message : String(error)
    return undefined
  }
  const path = item.mode === 'bare' ? '/read' : `/${item.mode}`
  const pid = item.running.child?.pid
  const counter = item.mode === 'bare' ? undefined : item.running.storeCalls
  await counter?.() // from 0: the seeding requests are not counted
  const cpuBefore = cpuMicros(pid)
  const waitBefore = waitMicros(pid)
  const result = await load(`http://127.0.0.1:${port}${path}`, seconds, {
    ...cookies,
    expectedBody: expectedBody(item),
  })
  const cpuAfter = cpuMicros(pid)
  const waitAfter = waitMicros(pid)
  // Both counts are the server's: the requests still in flight when the run stopped are counted
  // in each, once they have finished.
  if (counter !== undefined) await new Promise((resolve) => setTimeout(resolve, 300))
  const calls = counter === undefined ? undefined : await counter()
  if (result.error !== undefined || result.failures > 0 || result.requestsPerSecond === 0) {
    item.error = failureOf(result)
    return undefined
  }
  const cpu =
    cpuBefore === undefined || cpuAfter === undefined
      ? null
      : (cpuAfter - cpuBefore) / result.requests
  const busy = cpu === null ? null : (result.requestsPerSecond * cpu) / 1e6
  const waiting =
    waitBefore === undefined || waitAfter === undefined
      ? null
      : (waitAfter - waitBefore) / ((result.requests / result.requestsPerSecond) * 1e6)
  const storeCalls = calls === undefined || !Number.isFinite(calls) ? null : calls
  return { rps: result.requestsPerSecond, p99: result.p99Ms, cpu, busy, waiting, storeCalls }
}

/** Warns, on the console and in the report, when a bare measurement left its server idle. */
function checkSaturation(bare: Case, base: Sample, round: number): void {
  if (base.busy === null || base.busy >= SATURATED_BUSY) return
  const contended =
    base.waiting !== null && base.waiting >= CONTENDED_WAITING
      ? `, or other processes took its core (its event loop waited ${Math.round(base.waiting * 100)}% of the run for it)`
      : ''
  const warning =
    `${bare.running.scenario.framework} round ${round}: the bare server kept its core only ` +
    `${Math.round(base.busy * 100)}% busy (${Math.round(base.rps)} req/s × ${base.cpu!.toFixed(1)} µs CPU/req): ` +
    `load generator did not saturate the server${contended}: ratios are pushed toward 1`
  warnings.push(warning)
  log(`  WARNING: ${warning}`)
}

/**
 * Where the rounds of one framework split: scenarios that keep the session in the cookie or in the
 * server's memory run first, and the ones that write to a disk or talk to another server
 * afterwards. A file-store or database write leaves write-back and background work behind it,
 * which would otherwise land on the cookie rows measured next.
 */
const STORE_STORAGE: ReadonlySet<Storage> = new Set(['file', 'sqlite', 'redis', 'postgres'])

/** Flushes what the disk-writing scenarios left in the page cache, so the next case starts quiet. */
function settleDisk(): Promise<void> {
  spawnSync('sync')
  return new Promise((resolve) => setTimeout(resolve, 500))
}

/**
 * Warms `bare` and every case of `group` up, then measures each case `runs` times, every time
 * right after a measurement of the bare framework: a ratio compares two figures taken seconds
 * apart, so the machine's slow swings (other tenants, write-back) cancel out instead of landing
 * on whichever cases ran during them.
 */
async function runRounds(bare: Case, group: readonly Case[], title: string): Promise<void> {
  log(`  ${title}`)
  const afterCase = async (item: Case): Promise<void> => {
    if (item.mode === 'write' && STORE_STORAGE.has(item.running.scenario.storage)) {
      await settleDisk()
    }
  }
  const usable = (item: Case): boolean =>
    item.running.port !== undefined && item.error === undefined
  if (warmup > 0) {
    for (const item of [bare, ...group].filter(usable)) {
      await measureCase(item, warmup)
      await afterCase(item)
    }
  }
  for (let round = 1; round <= runs; round++) {
    for (const item of group.length === 0 ? [bare] : group) {
      if (!usable(item)) continue
      const base = usable(bare) ? await measureCase(bare, duration) : undefined
      if (base !== undefined) {
        bare.samples.push({ ...base, ratio: 1, cpuRatio: 1 })
        checkSaturation(bare, base, round)
      }
      if (item === bare) continue
      const measured = await measureCase(item, duration)
      await afterCase(item)
      if (measured === undefined) {
        log(`  ${item.running.scenario.name} ${item.mode}: failed (${item.error})`)
        continue
      }
      const ratio = base === undefined ? null : measured.rps / base.rps
      const cpuRatio =
        base?.cpu == null || measured.cpu === null || measured.cpu === 0
          ? null
          : base.cpu / measured.cpu
      item.samples.push({ ...measured, ratio, cpuRatio })
      log(
        `  round ${round}/${runs}  ${`${item.running.scenario.name} ${item.mode}`.padEnd(44)} ` +
          `${Math.round(measured.rps).toString().padStart(7)} req/s  p99 ${measured.p99.toFixed(1)} ms` +
          (measured.cpu === null ? '' : `  ${measured.cpu.toFixed(1)} µs CPU/req`) +
          (ratio === null || base === undefined
            ? ''
            : `  ratio ${ratio.toFixed(2)} (bare ${Math.round(base.rps)} req/s` +
              `${base.cpu === null ? '' : `, ${base.cpu.toFixed(1)} µs`}` +
              `${base.busy === null ? '' : `, core ${Math.round(base.busy * 100)}% busy`}` +
              `${base.waiting === null ? '' : `, ${Math.round(base.waiting * 100)}% waiting for it`})`) +
          (item.seedSeconds === undefined
            ? ''
            : `  [cookies seeded in ${item.seedSeconds.toFixed(1)} s]`),
      )
    }
  }
}

async function benchFramework(scenarios: readonly Scenario[]): Promise<CaseResult[]> {
  const framework = scenarios[0]!.framework
  const bareScenario = SCENARIOS.find((s) => s.framework === framework && s.library === 'bare')!
  const wanted = scenarios.includes(bareScenario) ? scenarios : [bareScenario, ...scenarios]
  log(`\n[${framework}] starting ${wanted.length} server(s)`)
  const servers: Running[] = []
  for (const scenario of wanted) {
    const running = await startServer(scenario)
    if (running.skip !== undefined) log(`  skip ${scenario.name}: ${running.skip}`)
    servers.push(running)
  }
  const bareServer = servers.find((running) => running.scenario === bareScenario)!
  const sessionCases: Case[] = servers
    .filter((running) => running !== bareServer)
    .flatMap((running) =>
      (running.scenario.modes ?? (['read', 'write'] as const)).map((mode) => ({
        running,
        mode,
        samples: [],
      })),
    )
  const inCookieOrMemory = sessionCases.filter(
    (c) => !STORE_STORAGE.has(c.running.scenario.storage),
  )
  const inStores = sessionCases.filter((c) => STORE_STORAGE.has(c.running.scenario.storage))
  // The bare row reported is the first group's; a later group's bare rounds only give its ratios.
  const reportedBare: Case = { running: bareServer, mode: 'bare', samples: [] }
  const groups = [inCookieOrMemory, inStores].filter((group) => group.length > 0)
  const cases = [reportedBare, ...sessionCases]
  try {
    if (groups.length === 0) await runRounds(reportedBare, [], 'bare only')
    for (const [index, group] of groups.entries()) {
      const bare: Case =
        index === 0 ? reportedBare : { running: bareServer, mode: 'bare', samples: [] }
      const title =
        group === inStores
          ? 'sessions in files, databases and Redis'
          : 'sessions in cookies and memory'
      await runRounds(bare, group, title)
      if (bare.error !== undefined) reportedBare.error ??= bare.error
    }
  } finally {
    await Promise.all(servers.map(stopServer))
  }
  return cases
    .filter((c) => scenarios.includes(c.running.scenario))
    .map((c): CaseResult => {
      const { scenario } = c.running
      const status =
        c.running.skip !== undefined
          ? 'skipped'
          : c.samples.length === 0 || c.error
            ? 'failed'
            : 'ok'
      const ratios = c.samples.flatMap((s) => (s.ratio === null ? [] : [s.ratio]))
      const cpuRatios = c.samples.flatMap((s) => (s.cpuRatio === null ? [] : [s.cpuRatio]))
      const cpus = c.samples.flatMap((s) => (s.cpu === null ? [] : [s.cpu]))
      const busy = c.samples.flatMap((s) => (s.busy === null ? [] : [s.busy]))
      const calls = c.samples.flatMap((s) => (s.storeCalls === null ? [] : [s.storeCalls]))
      const reason = c.running.skip ?? c.error
      return {
        framework: scenario.framework,
        name: scenario.name,
        library: scenario.library,
        storage: scenario.storage,
        mode: c.mode,
        status,
        ...(reason === undefined ? {} : { reason }),
        runs: c.samples.map((s) => Math.round(s.rps)),
        requestsPerSecond: c.samples.length ? median(c.samples.map((s) => s.rps)) : 0,
        p99Ms: c.samples.length ? median(c.samples.map((s) => s.p99)) : 0,
        cpuMicrosPerRequest: cpus.length ? median(cpus) : null,
        ratio: ratios.length ? median(ratios) : null,
        cpuRatio: cpuRatios.length ? median(cpuRatios) : null,
        serverBusy: busy.length ? median(busy) : null,
        ...(calls.length ? { storeCallsPerRequest: median(calls) } : {}),
      }
    })
}

// --- the codecs -------------------------------------------------------------------------------

async function benchCodecs(): Promise<CodecResult[]> {
  log('\n[codecs] encode + decode per second')
  const child = spawnNode(SERVER_CPU, 'codec.ts', ['--json', ...(quick ? ['--quick'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout!.on('data', (chunk: Buffer) => void (out += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) {
    log(`  codec benchmark failed (exit ${code})`)
    return []
  }
  const results = JSON.parse(out.trim().split('\n').pop()!) as CodecResult[]
  for (const r of results) {
    log(
      `  ${r.name.padEnd(48)} ${Math.round(r.opsPerSecond).toString().padStart(10)} ops/s  (${r.usedBy})`,
    )
  }
  return results
}

// --- main -------------------------------------------------------------------------------------

function machine(): BenchReport['machine'] {
  let cpu = 'unknown CPU'
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu
  } catch {
    // not Linux: keep the placeholder
  }
  return { cpu, cores: availableParallelism(), node: process.version, os: `${type()} ${release()}` }
}

/**
 * Seconds a measurement costs beyond its duration: seeding, autocannon's start, IPC, `sync` after
 * store writes. Calibrated on the 2-core machine, where `--runs 5` over the 56 cases there were
 * before the rows with a new cookie per request took about 40 minutes.
 */
const MEASUREMENT_OVERHEAD_SECONDS = 0.8
/** Seeding a pool of cookies, per measurement, on a 2-core machine. */
const POOL_SEEDING_SECONDS = 1.5

/**
 * A rough forecast of the run: per case its warm-up and, per round, a bare measurement and its
 * own; per framework and group the bare warm-up.
 */
function estimateSeconds(scenarios: readonly Scenario[]): number {
  const measurement = (seconds: number): number => seconds + MEASUREMENT_OVERHEAD_SECONDS
  let total = 0
  for (const framework of FRAMEWORKS) {
    const own = scenarios.filter((s) => s.framework === framework && s.library !== 'bare')
    const hasBare = scenarios.some((s) => s.framework === framework)
    if (!hasBare) continue
    const groups = new Set(own.map((s) => STORE_STORAGE.has(s.storage))).size
    total += Math.max(groups, 1) * (warmup > 0 ? measurement(warmup) : 0)
    for (const scenario of own) {
      const modes = (scenario.modes ?? ['read', 'write']).length
      const seeding = scenario.newCookiePerRequest === true ? POOL_SEEDING_SECONDS : 0
      const perCase =
        (warmup > 0 ? measurement(warmup) + seeding : 0) +
        runs * (2 * measurement(duration) + seeding)
      total += modes * perCase
    }
  }
  return total
}

const selected = SCENARIOS.filter(
  (s) => filter === undefined || `${s.framework} ${s.name}`.toLowerCase().includes(filter),
)
if (!canPin)
  log('warning: taskset or a second core is missing; server and load generator are not pinned')
const caseCount = selected
  .filter((s) => s.library !== 'bare')
  .reduce((n, s) => n + (s.modes ?? ['read', 'write']).length, 0)
log(
  `${selected.length} scenario(s), ${caseCount} case(s), ${runs} run(s) of ${duration} s, ${warmup} s warm-up, ${connections} connections: ` +
    `about ${Math.ceil(estimateSeconds(selected) / 60)} min`,
)

const codecs = args['no-codec'] === true ? [] : await benchCodecs()
await startLoadGenerator()
const cases: CaseResult[] = []
try {
  for (const framework of FRAMEWORKS) {
    const group = selected.filter((s) => s.framework === framework)
    if (group.length > 0) cases.push(...(await benchFramework(group)))
  }
} finally {
  loadChild?.removeAllListeners('exit')
  loadChild?.disconnect()
}

const report: BenchReport = {
  date: new Date().toISOString(),
  machine: machine(),
  settings: {
    runs,
    durationSeconds: duration,
    warmupSeconds: warmup,
    connections,
    pinned: canPin,
    ...(args.filter === undefined ? {} : { filter: args.filter }),
    quick,
  },
  cases,
  codecs,
  warnings,
}

console.log(`\n${formatConsoleTable(report)}\n`)
const full = !quick && filter === undefined
const resultsDir = join(here, 'results')
mkdirSync(resultsDir, { recursive: true })
const base = full ? 'latest' : 'partial'
const chart = full ? 'ratios.svg' : 'partial-ratios.svg'
writeFileSync(join(resultsDir, `${base}.json`), `${JSON.stringify(report, null, 2)}\n`)
writeFileSync(join(resultsDir, `${base}.md`), `${formatMarkdown(report, chart)}\n`)
writeFileSync(join(resultsDir, chart), formatSvg(report))
log(`wrote bench/results/${base}.json, ${base}.md and ${chart}`)
if (full && args['no-readme'] !== true) {
  const updated = updateReadme(
    join(root, 'README.md'),
    formatMarkdown(report, 'bench/results/ratios.svg'),
  )
  log(
    updated
      ? 'updated the README benchmark section'
      : 'README markers not found; README left alone',
  )
}
