/**
 * Turns benchmark results into the printed table, the markdown report, the SVG chart of ratios
 * and the README section.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import type { CodecResult } from './codec.js'
import type { CookieProtection, Framework, Mode, Storage } from './scenarios.js'
import { COOKIE_POOL_SIZE, FRAMEWORKS, NEW_COOKIE_SUFFIX, SCENARIOS } from './scenarios.js'

/** One measured case: a scenario in one mode. */
export interface CaseResult {
  readonly framework: Framework
  readonly name: string
  readonly library: 'bare' | 'cloakroom' | 'peer' | 'reference'
  readonly storage: Storage
  readonly mode: 'bare' | Mode
  readonly status: 'ok' | 'skipped' | 'failed'
  readonly reason?: string
  /** Requests/s of each run. */
  readonly runs: readonly number[]
  /** Median requests/s. */
  readonly requestsPerSecond: number
  /** Median p99 latency, in milliseconds. */
  readonly p99Ms: number
  /** Median server CPU time (user + system) per request, in microseconds (Linux only). */
  readonly cpuMicrosPerRequest: number | null
  /**
   * Median over runs of this case's requests/s divided by the bare framework's, measured just
   * before it.
   */
  readonly ratio: number | null
  /**
   * Median over runs of the bare framework's CPU time per request, measured just before this
   * case, divided by this case's. Absent in reports written before bare ran next to every case.
   */
  readonly cpuRatio?: number | null
  /**
   * Median over runs of the share of its core the server used: requests/s × CPU seconds per
   * request. Absent in reports written before it was recorded.
   */
  readonly serverBusy?: number | null
  /**
   * Median over runs of the store calls per request (each a round trip to the store), for
   * Cloakroom's server-side and revocable scenarios; absent for the others.
   */
  readonly storeCallsPerRequest?: number
}

/** Everything one `npm run bench` produced. */
export interface BenchReport {
  readonly date: string
  readonly machine: {
    readonly cpu: string
    readonly cores: number
    readonly node: string
    readonly os: string
  }
  readonly settings: {
    readonly runs: number
    readonly durationSeconds: number
    readonly warmupSeconds: number
    readonly connections: number
    readonly pinned: boolean
    readonly filter?: string
    readonly quick: boolean
  }
  readonly cases: readonly CaseResult[]
  readonly codecs: readonly CodecResult[]
  /**
   * What the run found wrong with its own measurements: bare runs that left their server's core
   * less than 95% busy. Absent in reports written before the check (and the response-body checks
   * and the rows with a new cookie per request) existed.
   */
  readonly warnings?: readonly string[]
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const ratioText = (r: number | null): string => (r === null ? '' : r.toFixed(2))
const cpuText = (us: number | null): string => (us === null ? '' : us.toFixed(1))
const busyText = (share: number | null | undefined): string =>
  share == null ? '' : `${Math.round(share * 100)}%`
/** The bare framework's CPU time per request over this case's: the ratio to expect at saturation. */
function cpuRatio(report: BenchReport, c: CaseResult): number | null {
  if (c.cpuRatio !== undefined) return c.cpuRatio
  const bare = report.cases.find(
    (b) => b.framework === c.framework && b.mode === 'bare' && b.status === 'ok',
  )
  if (bare?.cpuMicrosPerRequest == null || c.cpuMicrosPerRequest == null) return null
  return bare.cpuMicrosPerRequest / c.cpuMicrosPerRequest
}
const label = (c: CaseResult): string => (c.mode === 'bare' ? 'bare' : `${c.name}, ${c.mode}`)

/**
 * @param report the results
 * @returns the table printed to the terminal
 */
export function formatConsoleTable(report: BenchReport): string {
  const rows = report.cases.map((c) => [
    c.framework,
    label(c),
    c.storage,
    c.status === 'ok' ? fmt(c.requestsPerSecond) : c.status,
    c.status === 'ok' ? c.p99Ms.toFixed(1) : '',
    c.status === 'ok' ? cpuText(c.cpuMicrosPerRequest) : '',
    c.status === 'ok' ? busyText(c.serverBusy) : '',
    c.status === 'ok' ? ratioText(cpuRatio(report, c)) : '',
    c.status === 'ok' ? callsText(c.storeCallsPerRequest) : '',
    c.status === 'ok' ? ratioText(c.ratio) : (c.reason ?? ''),
  ])
  const header = [
    'framework',
    'scenario',
    'storage',
    'req/s',
    'p99 ms',
    'µs CPU/req',
    'core busy',
    'CPU ratio',
    'store calls/req',
    'ratio',
  ]
  const last = header.length - 1
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (i === last ? 5 : r[i]!.length))),
  )
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i >= 3 && i < last ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
  const table = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)]
  const warnings = (report.warnings ?? []).map((w) => `WARNING: ${w}`)
  return [...table, ...(warnings.length > 0 ? ['', ...warnings] : [])].join('\n')
}

/** Where a Cloakroom scenario keeps sessions on the server: one store round trip per read. */
const SERVER_SIDE: ReadonlySet<Storage> = new Set(['memory', 'file', 'sqlite', 'redis', 'postgres'])

/** Store calls per request, or empty for a scenario that does not count them. */
function callsText(calls: number | undefined): string {
  return calls === undefined ? '' : calls.toFixed(2)
}

/** How fast one case is relative to another, and what that figure is the quotient of. */
interface Relative {
  readonly value: number
  /** E.g. `quotient of the ratios to bare, 0.535 / 0.506`. */
  readonly basis: string
}

/**
 * How fast `a` is relative to `b`: the quotient of their ratios to bare when both have one (each
 * ratio was taken against a bare run seconds before, so the machine's swings cancel out),
 * otherwise of their median requests/s.
 */
function relative(a: CaseResult, b: CaseResult): Relative {
  return a.ratio != null && b.ratio != null && b.ratio > 0
    ? {
        value: a.ratio / b.ratio,
        basis: `quotient of the ratios to bare, ${a.ratio.toPrecision(3)} / ${b.ratio.toPrecision(3)}`,
      }
    : {
        value: a.requestsPerSecond / b.requestsPerSecond,
        basis: `quotient of the median req/s, ${fmt(a.requestsPerSecond)} / ${fmt(b.requestsPerSecond)}`,
      }
}

/** Whether a case's cookie only signs its data or encrypts it, from its scenario. */
function protectionOf(c: CaseResult): CookieProtection | undefined {
  return SCENARIOS.find((s) => s.framework === c.framework && s.name === c.name)?.protection
}

const PROTECTION_VERB: Record<CookieProtection, string> = {
  signs: 'signing',
  encrypts: 'encrypting',
}

/** E.g. `, signing vs encrypting`: how the two cookies protect their data (empty for stores). */
function protections(ours: CaseResult, theirs: CaseResult): string {
  const a = protectionOf(ours)
  const b = protectionOf(theirs)
  if (a === undefined || b === undefined) return ''
  return a === b
    ? `, both ${PROTECTION_VERB[a]}`
    : `, ${PROTECTION_VERB[a]} vs ${PROTECTION_VERB[b]}`
}

/**
 * The targets of issues 2 and 7, judged on this run. Comparisons between two cases (encrypted
 * against signed, Cloakroom against a peer) use their ratios to bare, see {@link relative}.
 */
export function judgeTargets(report: BenchReport): string[] {
  const lines: string[] = []
  const find = (framework: Framework, name: string, mode: string): CaseResult | undefined =>
    report.cases.find(
      (c) => c.framework === framework && c.name === name && c.mode === mode && c.status === 'ok',
    )
  const mark = (ok: boolean): string => (ok ? 'met' : '**missed**')
  for (const framework of FRAMEWORKS) {
    for (const [suffix, how] of [
      ['', 'one cookie per run, answered from the caches'],
      [NEW_COOKIE_SUFFIX, 'a new cookie per request'],
    ] as const) {
      for (const [mode, target] of [
        ['read', 0.85],
        ['write', 0.7],
      ] as const) {
        const signed = find(framework, `Cloakroom signed${suffix}`, mode)
        if (signed?.ratio != null) {
          lines.push(
            `${framework}: signed cookie ${mode} (${how}) keeps ${signed.ratio.toFixed(2)} of bare (target >= ${target}): ${mark(signed.ratio >= target)}`,
          )
        }
        const encrypted = find(framework, `Cloakroom encrypted${suffix}`, mode)
        if (signed && encrypted) {
          const share = relative(encrypted, signed)
          lines.push(
            `${framework}: encrypted cookie ${mode} (${how}) at ${share.value.toFixed(2)} of signed (${share.basis}; target >= 0.90): ${mark(share.value >= 0.9)}`,
          )
        }
      }
    }
    const reference = report.cases.find(
      (c) =>
        c.framework === framework &&
        c.library === 'reference' &&
        c.mode === 'write' &&
        c.status === 'ok',
    )
    if (reference?.ratio != null) {
      lines.push(
        `${framework}: a server that never reads or verifies the incoming cookie and only issues a signed one (with the three headers), with no session, keeps ${reference.ratio.toFixed(2)} of bare on writes: the ceiling for issuing a cookie, not for a whole write, which also verifies the cookie it gets`,
      )
    }
    for (const ours of report.cases.filter(
      (c) =>
        c.framework === framework &&
        c.library === 'cloakroom' &&
        c.status === 'ok' &&
        SERVER_SIDE.has(c.storage) &&
        c.storeCallsPerRequest !== undefined &&
        (c.mode === 'read' || c.mode === 'write'),
    )) {
      const target = ours.mode === 'read' ? 1 : 2
      const calls = ours.storeCallsPerRequest!
      lines.push(
        `${framework}: ${ours.name} ${ours.mode} makes ${calls.toFixed(2)} store calls per request (target: ${target}, ${ours.mode === 'read' ? 'one round trip' : 'one more for the write'}): ${mark(calls <= target + 0.005)}`,
      )
    }
    const untouched = find(framework, 'Cloakroom signed', 'untouched')
    if (untouched?.ratio != null) {
      lines.push(
        `${framework}: a request that never touches its session keeps ${untouched.ratio.toFixed(2)} of bare (target: next to nothing, >= 0.95): ${mark(untouched.ratio >= 0.95)}`,
      )
    }
    for (const ours of report.cases.filter(
      (c) => c.framework === framework && c.library === 'cloakroom' && c.status === 'ok',
    )) {
      const peers = report.cases.filter(
        (c) =>
          c.framework === framework &&
          c.library === 'peer' &&
          c.status === 'ok' &&
          c.storage === ours.storage &&
          c.mode === ours.mode,
      )
      if (peers.length === 0) continue
      const best = peers.reduce((a, b) => (relative(a, b).value >= 1 ? a : b))
      const lead = relative(ours, best)
      lines.push(
        `${framework}: ${ours.name} ${ours.mode} vs best ${ours.storage} peer ${best.name}${protections(ours, best)}: ` +
          `lead ${lead.value.toFixed(2)}× (${lead.basis}; median req/s ${fmt(ours.requestsPerSecond)} vs ${fmt(best.requestsPerSecond)}): ${mark(lead.value > 1)}`,
      )
    }
  }
  return lines
}

const hasNewCookieRows = (report: BenchReport): boolean =>
  report.cases.some((c) => c.name.endsWith(NEW_COOKIE_SUFFIX) && c.status === 'ok')

/** How the run was made, and what µs CPU/req and the CPU ratio do and do not count. */
function setupParagraph(report: BenchReport): string {
  const { machine, settings } = report
  return (
    `Measured ${report.date} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, ${machine.os}. ` +
    `Server on one core and autocannon on the other${settings.pinned ? ' (taskset)' : ' (not pinned: taskset or a second core missing)'}; ` +
    `${settings.connections} connections, pipelining 1, ${settings.warmupSeconds} s warm-up, ` +
    `median of ${settings.runs} run(s) of ${settings.durationSeconds} s. ` +
    'Every run of a case comes right after a run of the bare framework, and the ratio is to that run (the median over runs is shown); sessions kept in files, databases and Redis run after the others. ' +
    'Every server runs with `--no-memory-reducer`: idle while the others are measured, a server would otherwise have its heap shrunk and come out 10–40% slower in its next run. ' +
    "µs CPU/req is the server process's CPU time per request (all its threads, garbage collection included), and the CPU ratio is the bare server's over it, paired the same way: the throughput ratio to expect on an idle machine, and a figure other load disturbs far less than requests/s. " +
    "Both count the Node server process only: for sessions kept in Redis or PostgreSQL the database server's own CPU time is not counted, so for those rows the CPU ratio leaves out part of what a request costs. " +
    "Store calls/req, for Cloakroom's server-side and revocable scenarios, is the calls of the store contract (`get`, `set`, `patch`, `touch`, `delete`, ...; each one round trip to the store) made during the run, divided by the sessions loaded (one per request), both counted by the server." +
    (settings.quick ? ' Quick mode: smoke figures only.' : '') +
    (settings.filter === undefined ? '' : ` Filtered to \`${settings.filter}\`.`)
  )
}

/** What the requests do, and which rows Cloakroom's caches answer. */
function modesParagraph(report: BenchReport): string {
  const rows =
    '“Cloakroom signed (new cookie per request)” and “Cloakroom encrypted (new cookie per request)”'
  return (
    'Read-only requests carry a valid session cookie and read one key; writing requests set a key to a new value on every request (a new `Set-Cookie` for cookie sessions, a store write for server-side ones); untouched requests carry the cookie but never look at the session. Servers run from JavaScript compiled by TypeScript, as an installed package would.\n\n' +
    'In every row but those marked “(new cookie per request)”, all the requests of a run carry one and the same cookie, fetched from `/seed` just before the run. ' +
    "Cloakroom's signed and encrypted cookies keep bounded caches (1,000 entries) of cookie values already verified and of bodies already parsed, so in those rows only a run's first request checks the HMAC or decrypts and parses the JSON, and every later one is answered from the caches, while the peers verify and decode every cookie every time; a real client's writes would send back a new cookie each time, never a cached one. " +
    `The rows ${rows} measure the uncached path: each request carries a different valid cookie, taken in turn from ${fmt(COOKIE_POOL_SIZE)} distinct sessions seeded for the run (more than the caches hold, so a cookie has left them before it comes round again). Compare those rows with the peers.` +
    // A report from before these rows says so in checksParagraph.
    (hasNewCookieRows(report) || report.warnings === undefined
      ? ''
      : ' This run has none of them: `npm run bench` measures them.')
  )
}

/** What the peers do on a read, and how each cookie session protects its data. */
const PEERS_PARAGRAPH =
  'Peers run with their defaults, which for some means a write on every read: hono-sessions (`autoExtendExpiration`: true) re-seals the session and sends a new `Set-Cookie` on every read; @fastify/session (`rolling`: true) saves the session to its store and sends `Set-Cookie` on every read; express-session touches the session on every read (with MemoryStore the stored session is parsed and serialized again; with connect-redis each `GET` is followed by an `EXPIRE`), without a `Set-Cookie`. ' +
  'Cloakroom re-issues a cookie only after `reissueTime` (by default a tenth of the idle timeout: 120 s, longer than any run), so its reads write nothing.\n\n' +
  "Of the sessions kept in the cookie, Cloakroom signed, cookie-session and koa-session sign the data and leave it readable (base64 JSON, with HMAC-SHA256 for Cloakroom and keygrip's HMAC-SHA1 for the other two); Cloakroom encrypted (AES-256-GCM), iron-session and hono-sessions (iron: AES-256-CBC with HMAC-SHA256) and @fastify/secure-session (libsodium secretbox: XSalsa20-Poly1305) encrypt it. " +
  'So Cloakroom signed against iron-session, @fastify/secure-session or hono-sessions compares signing with encrypting; Cloakroom encrypted is the like-for-like row. express-session and @fastify/session keep the data in a store and put only a signed session id in the cookie.'

/** Exactly what the `reference` row's server does, and what its ratio bounds. */
const REFERENCE_PARAGRAPH =
  "The `reference` row is no session library: a node:http server that never reads or verifies the incoming cookie. On each write it serializes a fixed user and a counter (nothing from the request), base64url-encodes them, computes one HMAC-SHA256 and sends `Set-Cookie`, `Vary` and `Cache-Control`; on a read it answers the user's id without looking at any cookie. " +
  'Its ratio is therefore the ceiling for issuing a signed cookie, not for a whole signed-cookie write, which must also verify the cookie it receives.'

/**
 * Sums up the saturation warnings per framework (the README would otherwise list dozens).
 *
 * @param warnings the warnings, each `<framework> round <n>: ... only <busy>% busy ...`
 * @returns one Markdown list item per framework
 */
function warningSummary(warnings: readonly string[]): string[] {
  const busyByFramework = new Map<string, number[]>()
  for (const warning of warnings) {
    const framework = warning.slice(0, Math.max(0, warning.indexOf(' round ')))
    const busy = Number(/only (\d+)% busy/.exec(warning)?.[1] ?? Number.NaN)
    const list = busyByFramework.get(framework) ?? []
    list.push(busy)
    busyByFramework.set(framework, list)
  }
  return [...busyByFramework].map(([framework, busy]) => {
    const known = busy.filter((value) => Number.isFinite(value))
    const least = known.length > 0 ? `, the least busy at ${Math.min(...known)}% of its core` : ''
    return `- ${framework}: ${busy.length} bare run(s)${least}`
  })
}

/** What the run checked about its own measurements, and what it found. */
function checksParagraph(report: BenchReport): string[] {
  if (report.warnings === undefined) {
    return [
      "This run predates the checks of response bodies and of the bare servers' saturation, and the rows with a new cookie per request: `npm run bench` gives all three.",
    ]
  }
  const bareBusy = report.cases
    .filter((c) => c.mode === 'bare' && c.status === 'ok' && c.serverBusy != null)
    .map((c) => `${c.framework} ${busyText(c.serverBusy)}`)
  const lines = [
    "Every response's body is checked: reads and writes must answer the seeded user's id (a request whose cookie was refused gets a fresh, anonymous session and fails the run), bare and untouched requests `ok`. " +
      'After each bare run, the share of its core the bare server used (requests/s × CPU seconds per request) is checked' +
      (bareBusy.length > 0 ? ` (median per framework: ${bareBusy.join(', ')})` : '') +
      (report.warnings.length === 0 ? ': every bare run kept it at least 95% busy.' : ':'),
  ]
  if (report.warnings.length > 0) {
    lines.push(
      '',
      `**Warning: in ${report.warnings.length} bare run(s) the load generator did not saturate the server: ratios are pushed toward 1.** Each is listed in \`latest.json\`; per framework:`,
      '',
      ...warningSummary(report.warnings),
    )
  }
  return lines
}

/**
 * @param report the results
 * @param chartPath the SVG's path relative to the markdown file
 * @returns the markdown report (also the README's benchmark section)
 */
export function formatMarkdown(report: BenchReport, chartPath: string): string {
  const out: string[] = []
  out.push('## Benchmark', '')
  out.push(setupParagraph(report), '')
  out.push(modesParagraph(report), '')
  out.push(...checksParagraph(report), '')
  out.push(PEERS_PARAGRAPH, '')
  out.push(REFERENCE_PARAGRAPH, '')
  out.push(`![ratios](${chartPath})`, '')
  out.push(
    '| Framework | Scenario | Storage | Mode | req/s | p99 ms | µs CPU/req | CPU ratio | Store calls/req | Ratio to bare |',
  )
  out.push('| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const c of report.cases) {
    const figures =
      c.status === 'ok'
        ? `${fmt(c.requestsPerSecond)} | ${c.p99Ms.toFixed(1)} | ${cpuText(c.cpuMicrosPerRequest)} | ${ratioText(cpuRatio(report, c))} | ${callsText(c.storeCallsPerRequest)} | ${ratioText(c.ratio)}`
        : `${c.status} | | | | | ${(c.reason ?? '').replace(/\|/g, '\\|')}`
    out.push(`| ${c.framework} | ${c.name} | ${c.storage} | ${c.mode} | ${figures} |`)
  }
  out.push('')
  if (report.codecs.length > 0) {
    out.push('Codecs, encode + decode of one session (in-process, one core):', '')
    out.push('| Codec | Used by | ops/s |', '| --- | --- | ---: |')
    for (const codec of report.codecs) {
      const note = codec.note === undefined ? '' : ` (${codec.note})`
      out.push(
        `| ${codec.name}${note} | ${codec.usedBy} | ${codec.opsPerSecond > 0 ? fmt(codec.opsPerSecond) : 'n/a'} |`,
      )
    }
    out.push('')
  }
  const targets = judgeTargets(report)
  if (targets.length > 0) {
    out.push('Targets on this run:', '', ...targets.map((t) => `- ${t}`), '')
  }
  out.push(
    'Run it: `npm run bench` (full matrix, about 35 minutes at the defaults on a 2-core machine), `npm run bench -- --quick` (smoke run), ' +
      '`npm run bench -- --filter express --runs 5 --duration 5`. Redis and PostgreSQL scenarios need the servers on 127.0.0.1 (`REDIS_URL`, `DATABASE_URL`); missing ones are skipped.',
  )
  return out.join('\n')
}

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** The bar colours of the chart, one per legend entry. */
const BAR_COLOURS = {
  'Cloakroom read': '#2563eb',
  'Cloakroom write': '#93c5fd',
  'Cloakroom untouched': '#7c3aed',
  'peer read': '#6b7280',
  'peer write': '#d1d5db',
  'reference write': '#f59e0b',
} as const

type BarKind = keyof typeof BAR_COLOURS

/** The legend entry a case's bar belongs to. */
function barKind(c: CaseResult): BarKind {
  if (c.library === 'reference') return 'reference write'
  const who = c.library === 'cloakroom' ? 'Cloakroom' : 'peer'
  if (c.mode === 'untouched' && who === 'Cloakroom') return 'Cloakroom untouched'
  return `${who} ${c.mode === 'write' ? 'write' : 'read'}`
}

/** The legend, one swatch and label per kind of bar the chart shows, left to right from `x`. */
function legend(kinds: readonly BarKind[], x: number): string {
  let at = x
  const entries = kinds.map((kind) => {
    const entry =
      `<rect x="${at}" y="26" width="10" height="8" fill="${BAR_COLOURS[kind]}"/>` +
      `<text x="${at + 14}" y="34">${escape(kind)}</text>`
    // About 6 px per character at 11 px, then a gap.
    at += 14 + kind.length * 6 + 16
    return entry
  })
  return `<g font-size="11">${entries.join('')}</g>`
}

/**
 * A horizontal bar chart of the ratios, one group per framework.
 *
 * @param report the results
 * @returns the SVG document
 */
export function formatSvg(report: BenchReport): string {
  const rows = report.cases.filter(
    (c) => c.status === 'ok' && c.mode !== 'bare' && c.ratio !== null,
  )
  const labelWidth = 400
  const barWidth = 420
  const rowHeight = 18
  const maxRatio = Math.max(1.1, ...rows.map((c) => c.ratio!))
  const x = (ratio: number): number => labelWidth + (ratio / maxRatio) * barWidth
  const parts: string[] = []
  let y = 40
  for (const framework of FRAMEWORKS) {
    const group = rows.filter((c) => c.framework === framework)
    if (group.length === 0) continue
    parts.push(`<text x="8" y="${y + 13}" class="group">${escape(framework)}</text>`)
    y += rowHeight + 2
    for (const c of group) {
      const colour = BAR_COLOURS[barKind(c)]
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 12}" text-anchor="end">${escape(`${c.name}, ${c.mode}`)}</text>`,
        `<rect x="${labelWidth}" y="${y + 2}" width="${(x(c.ratio!) - labelWidth).toFixed(1)}" height="${rowHeight - 4}" fill="${colour}"/>`,
        `<text x="${(x(c.ratio!) + 4).toFixed(1)}" y="${y + 12}">${c.ratio!.toFixed(2)}</text>`,
      )
      y += rowHeight
    }
    y += 8
  }
  const height = y + 24
  const guides = [0.7, 0.85, 1]
    .map(
      (r) =>
        `<line x1="${x(r).toFixed(1)}" y1="34" x2="${x(r).toFixed(1)}" y2="${y}" class="guide"/>` +
        `<text x="${x(r).toFixed(1)}" y="${y + 14}" text-anchor="middle" class="axis">${r.toFixed(2)}</text>`,
    )
    .join('\n')
  const width = labelWidth + barWidth + 60
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    '<style>.group{font-weight:bold;font-size:13px}.guide{stroke:#9ca3af;stroke-dasharray:3 3}.axis{fill:#6b7280;font-size:11px}</style>',
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="8" y="20" font-size="14" font-weight="bold">Requests/s as a share of the bare framework (${escape(report.date.slice(0, 10))}, ${escape(report.machine.cpu)})</text>`,
    legend(
      (Object.keys(BAR_COLOURS) as BarKind[]).filter((kind) =>
        rows.some((c) => barKind(c) === kind),
      ),
      8,
    ),
    guides,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}

/**
 * Replaces the README's benchmark section with `markdown`; leaves the rest of the file alone.
 *
 * @param readmePath the README
 * @param markdown the section's new content
 * @returns whether the markers were found
 */
export function updateReadme(readmePath: string, markdown: string): boolean {
  const start = '<!-- section:bench -->'
  const end = '<!-- /section:bench -->'
  const text = readFileSync(readmePath, 'utf8')
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from < 0 || to < from) return false
  writeFileSync(readmePath, `${text.slice(0, from + start.length)}\n${markdown}\n${text.slice(to)}`)
  return true
}
