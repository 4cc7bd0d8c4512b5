import type { StoreStats } from '../store/session-store.js'
import { failure, parseCommandArgs, usageError, type CliCommand } from './command.js'
import {
  describeStoreError,
  openStoreTarget,
  STORE_USAGE,
  storeTargetFromArgs,
} from './store-target.js'
import { timeText } from './time-text.js'

/** What `cloakroom stats --json` prints: one JSON object per run. */
export interface StatsReport {
  /** The store, as given to `--store` but without its password. */
  readonly store: string
  /** Live sessions. */
  readonly live: number
  /** Expired records still stored (what `cloakroom prune` would delete). */
  readonly expired: number
  /**
   * When the oldest live session began (ISO 8601; the raw number followed by "(not a valid
   * time)" for a record with an absurd time), or null when none is live.
   */
  readonly oldestCreated: string | null
  /** The bytes of data and library fields (JSON) of the largest live session, or null. */
  readonly largestBytes: number | null
}

/**
 * Turns a store's statistics into what `cloakroom stats --json` prints.
 *
 * @param store the store label (no password)
 * @param stats what the store's `stats()` returned
 * @returns the report
 */
export function statsReport(store: string, stats: StoreStats): StatsReport {
  return {
    store,
    live: stats.live,
    expired: stats.expired,
    oldestCreated: stats.oldestCreated === null ? null : timeText(stats.oldestCreated),
    largestBytes: stats.largestBytes,
  }
}

function formatText(report: StatsReport): string {
  const plural = (count: number, noun: string): string =>
    `${count} ${noun}${count === 1 ? '' : 's'}`
  return [
    `store:    ${report.store}`,
    `live:     ${plural(report.live, 'session')}`,
    `expired:  ${plural(report.expired, 'record')}${report.expired > 0 ? ' (cloakroom prune deletes them)' : ''}`,
    `oldest:   ${report.oldestCreated === null ? '-' : `created ${report.oldestCreated}`}`,
    `largest:  ${report.largestBytes === null ? '-' : `${report.largestBytes} bytes`}`,
    '',
  ].join('\n')
}

/** `cloakroom stats`: counts the sessions of a server-side store. */
export const statsCommand: CliCommand = {
  name: 'stats',
  summary: 'count the live sessions of a store; show the oldest and the largest',
  usage: `Usage: cloakroom stats --store URL [--table NAME] [--schema NAME] [--prefix P] [--json]

Reads a server-side store without changing it and prints the number of live sessions, the number
of expired records still stored (what cloakroom prune deletes), when the oldest live session
began, and the size of the largest one (bytes of its data and library fields as JSON). It reads every record, so it
may take a while on a large store.

Options:
${STORE_USAGE}
  --table NAME        the sessions table (sqlite, postgres; default cloakroom_sessions)
  --schema NAME       the table's schema (postgres; default public)
  --prefix P          the key prefix of the store (redis; default cloakroom:); keys are found
                      with SCAN, so a Redis Cluster is not supported
  --json              print {"store", "live", "expired", "oldestCreated", "largestBytes"}
  -h, --help          show this text

Exit status: 0 when done, 1 when the store failed, 2 on bad input (one line on standard error).

Examples:
  cloakroom stats --store file:./.data/sessions
  cloakroom stats --store redis://127.0.0.1:6379 --prefix myapp:session: --json
`,
  async run(args, io) {
    const parsed = parseCommandArgs(args, {
      store: { type: 'string' },
      table: { type: 'string' },
      schema: { type: 'string' },
      prefix: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    })
    if (!parsed.ok) return usageError(io, 'stats', parsed.message)
    const { values, positionals } = parsed
    if (values.help === true) {
      io.stdout(statsCommand.usage)
      return 0
    }
    if (positionals.length > 0) return usageError(io, 'stats', 'takes no arguments.')
    const chosen = storeTargetFromArgs(values, io, ['table', 'schema', 'prefix'])
    if ('exitCode' in chosen) return usageError(io, 'stats', chosen.message)
    const { target, options } = chosen
    const opened = await openStoreTarget(target, options)
    if ('exitCode' in opened) {
      return opened.exitCode === 1
        ? failure(io, 'stats', opened.message)
        : usageError(io, 'stats', opened.message)
    }
    let stats: StoreStats
    try {
      stats = await opened.store.stats()
    } catch (error) {
      return failure(io, 'stats', `${target.label}: ${describeStoreError(error, target)}`)
    } finally {
      await opened.close()
    }
    const report = statsReport(target.label, stats)
    io.stdout(values.json === true ? `${JSON.stringify(report)}\n` : formatText(report))
    return 0
  },
}
