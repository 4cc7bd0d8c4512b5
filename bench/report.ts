/**
 * Turns benchmark results into the printed table, the markdown report, the SVG chart of ratios
 * and the README section.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import type { CodecResult } from './codec.js'
import type { Framework, Mode, Storage } from './scenarios.js'
import { FRAMEWORKS } from './scenarios.js'

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
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const ratioText = (r: number | null): string => (r === null ? '' : r.toFixed(2))
const cpuText = (us: number | null): string => (us === null ? '' : us.toFixed(1))
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
    c.status === 'ok' ? ratioText(cpuRatio(report, c)) : '',
    c.status === 'ok' ? ratioText(c.ratio) : (c.reason ?? ''),
  ])
  const header = [
    'framework',
    'scenario',
    'storage',
    'req/s',
    'p99 ms',
    'µs CPU/req',
    'CPU ratio',
    'ratio',
  ]
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (i === 7 ? 5 : r[i]!.length))),
  )
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i >= 3 && i < 7 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/**
 * How fast `a` is relative to `b`: the quotient of their ratios to bare when both have one (each
 * ratio was taken against a bare run seconds before, so the machine's swings cancel out),
 * otherwise of their requests/s.
 */
function relative(a: CaseResult, b: CaseResult): number {
  return a.ratio != null && b.ratio != null && b.ratio > 0
    ? a.ratio / b.ratio
    : a.requestsPerSecond / b.requestsPerSecond
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
    for (const [mode, target] of [
      ['read', 0.85],
      ['write', 0.7],
    ] as const) {
      const signed = find(framework, 'Cloakroom signed', mode)
      if (signed?.ratio != null) {
        lines.push(
          `${framework}: signed cookie ${mode} keeps ${signed.ratio.toFixed(2)} of bare (target >= ${target}): ${mark(signed.ratio >= target)}`,
        )
      }
      const encrypted = find(framework, 'Cloakroom encrypted', mode)
      if (signed && encrypted) {
        const share = relative(encrypted, signed)
        lines.push(
          `${framework}: encrypted cookie ${mode} at ${share.toFixed(2)} of signed (target >= 0.90): ${mark(share >= 0.9)}`,
        )
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
        `${framework}: a server that only signs a cookie and sends the three headers, with no session, keeps ${reference.ratio.toFixed(2)} of bare on writes: the ceiling for the write target`,
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
      const best = peers.reduce((a, b) => (relative(a, b) >= 1 ? a : b))
      const lead = relative(ours, best)
      lines.push(
        `${framework}: ${ours.name} ${ours.mode} ${fmt(ours.requestsPerSecond)} req/s vs best ${ours.storage} peer ${best.name} ${fmt(best.requestsPerSecond)} (${lead.toFixed(2)}×): ${mark(lead > 1)}`,
      )
    }
  }
  return lines
}

/**
 * @param report the results
 * @param chartPath the SVG's path relative to the markdown file
 * @returns the markdown report (also the README's benchmark section)
 */
export function formatMarkdown(report: BenchReport, chartPath: string): string {
  const { machine, settings } = report
  const out: string[] = []
  out.push('## Benchmark', '')
  out.push(
    `Measured ${report.date} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, ${machine.os}. ` +
      `Server on one core and autocannon on the other${settings.pinned ? ' (taskset)' : ' (not pinned: taskset or a second core missing)'}; ` +
      `${settings.connections} connections, pipelining 1, ${settings.warmupSeconds} s warm-up, ` +
      `median of ${settings.runs} run(s) of ${settings.durationSeconds} s. ` +
      `Every run of a case comes right after a run of the bare framework, and the ratio is to that run (the median over runs is shown); sessions kept in files, databases and Redis run after the others. Every server runs with \`--no-memory-reducer\`: idle while the others are measured, a server would otherwise have its heap shrunk and come out 10–40% slower in its next run. µs CPU/req is the server process's CPU time per request (all its threads, garbage collection included), and the CPU ratio is the bare server's over it, paired the same way: the throughput ratio to expect on an idle machine, and a figure other load disturbs far less than requests/s.` +
      (settings.quick ? ' Quick mode: smoke figures only.' : '') +
      (settings.filter === undefined ? '' : ` Filtered to \`${settings.filter}\`.`),
    '',
  )
  out.push(
    'Read-only requests carry a valid session cookie and read one key; writing requests set a key to a new value on every request (a new `Set-Cookie` for cookie sessions, a store write for server-side ones); untouched requests carry the cookie but never look at the session. Servers run from JavaScript compiled by TypeScript, as an installed package would. ' +
      'The `reference` row is no library: a node:http server that, on each write, only serializes the data, base64url-encodes it, computes one HMAC-SHA256 and sends `Set-Cookie`, `Vary` and `Cache-Control`, the least any signed-cookie session must do, so its ratio is the ceiling for a signed-cookie write.',
    '',
  )
  out.push(`![ratios](${chartPath})`, '')
  out.push(
    '| Framework | Scenario | Storage | Mode | req/s | p99 ms | µs CPU/req | CPU ratio | Ratio to bare |',
  )
  out.push('| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |')
  for (const c of report.cases) {
    const figures =
      c.status === 'ok'
        ? `${fmt(c.requestsPerSecond)} | ${c.p99Ms.toFixed(1)} | ${cpuText(c.cpuMicrosPerRequest)} | ${ratioText(cpuRatio(report, c))} | ${ratioText(c.ratio)}`
        : `${c.status} | | | | ${(c.reason ?? '').replace(/\|/g, '\\|')}`
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
    'Run it: `npm run bench` (full matrix, about 20 minutes), `npm run bench -- --quick` (smoke run), ' +
      '`npm run bench -- --filter express --runs 5 --duration 5`. Redis and PostgreSQL scenarios need the servers on 127.0.0.1 (`REDIS_URL`, `DATABASE_URL`); missing ones are skipped.',
  )
  return out.join('\n')
}

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

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
  const labelWidth = 330
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
      const colour =
        c.library === 'cloakroom'
          ? c.mode === 'write'
            ? '#93c5fd'
            : '#2563eb'
          : c.mode === 'write'
            ? '#d1d5db'
            : '#6b7280'
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
    `<g font-size="11"><rect x="${labelWidth}" y="26" width="10" height="8" fill="#2563eb"/><text x="${labelWidth + 14}" y="34">Cloakroom read</text>` +
      `<rect x="${labelWidth + 110}" y="26" width="10" height="8" fill="#93c5fd"/><text x="${labelWidth + 124}" y="34">Cloakroom write</text>` +
      `<rect x="${labelWidth + 225}" y="26" width="10" height="8" fill="#6b7280"/><text x="${labelWidth + 239}" y="34">peer read</text>` +
      `<rect x="${labelWidth + 310}" y="26" width="10" height="8" fill="#d1d5db"/><text x="${labelWidth + 324}" y="34">peer write</text></g>`,
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
