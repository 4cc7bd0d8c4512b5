import { failure, parseCommandArgs, usageError, type CliCommand } from './command.js'
import { createProgressLine, formatPruneProgress } from './progress.js'
import {
  describeStoreError,
  openStoreTarget,
  STORE_USAGE,
  storeTargetFromArgs,
} from './store-target.js'

const MAX_BATCH_SIZE = 100_000

/** `cloakroom prune`: deletes expired sessions from a server-side store. */
export const pruneCommand: CliCommand = {
  name: 'prune',
  summary: 'delete expired sessions from a SQLite, file or PostgreSQL store',
  usage: `Usage: cloakroom prune --store URL [--table NAME] [--schema NAME] [--batch-size N] [--json]

Deletes the expired sessions of a server-side store in batches and prints how many were deleted.
On a terminal, a progress line is drawn on standard error. Live sessions are never touched, and
nothing is created: a missing file, directory or table is an error. Run it from cron, or
whenever you like: reads already ignore expired sessions, so pruning only reclaims space.

Redis expires sessions itself (every write sets a TTL), so a redis:// store has nothing to prune:
the command says so on standard error and prints 0 without connecting.

Options:
${STORE_USAGE}
  --table NAME        the sessions table (sqlite, postgres; default cloakroom_sessions)
  --schema NAME       the table's schema (postgres; default public)
  --batch-size N      rows deleted per statement (default 1000); for file:, files examined
                      between two progress updates (default 100)
  --json              print {"store": URL, "deleted": N} (the URL without its password)
  -h, --help          show this text

Exit status: 0 when done, 1 when the store failed, 2 on bad input (one line on standard error),
130 when interrupted (Ctrl-C); what was deleted until then stays deleted.

Examples:
  cloakroom prune --store sqlite:./.data/sessions.db
  CLOAKROOM_STORE=postgres://app@db.internal/app cloakroom prune --schema auth --json
`,
  async run(args, io) {
    const parsed = parseCommandArgs(args, {
      store: { type: 'string' },
      table: { type: 'string' },
      schema: { type: 'string' },
      'batch-size': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    })
    if (!parsed.ok) return usageError(io, 'prune', parsed.message)
    const { values, positionals } = parsed
    if (values.help === true) {
      io.stdout(pruneCommand.usage)
      return 0
    }
    if (positionals.length > 0) return usageError(io, 'prune', 'takes no arguments.')
    const chosen = storeTargetFromArgs(values, io, ['table', 'schema'])
    if ('exitCode' in chosen) return usageError(io, 'prune', chosen.message)
    const { target, options } = chosen
    let batchSize: number | undefined
    const batchText = values['batch-size']
    if (typeof batchText === 'string') {
      batchSize = /^[0-9]{1,6}$/.test(batchText) ? Number(batchText) : NaN
      if (!(batchSize >= 1 && batchSize <= MAX_BATCH_SIZE)) {
        return usageError(
          io,
          'prune',
          `--batch-size must be a whole number from 1 to ${MAX_BATCH_SIZE}.`,
        )
      }
    }
    const report = (deleted: number): number => {
      io.stdout(
        values.json === true
          ? `${JSON.stringify({ store: target.label, deleted })}\n`
          : `Deleted ${deleted} expired session${deleted === 1 ? '' : 's'} from ${target.label}.\n`,
      )
      return 0
    }
    if (target.kind === 'redis') {
      io.stderr('cloakroom prune: Redis expires sessions itself (TTL); nothing to prune.\n')
      return report(0)
    }

    const opened = await openStoreTarget(target, options)
    if ('exitCode' in opened) {
      return opened.exitCode === 1
        ? failure(io, 'prune', opened.message)
        : usageError(io, 'prune', opened.message)
    }
    const progress = createProgressLine(io)
    let deletedSoFar = 0
    // Stopping half-way loses nothing (only expired sessions go). On Ctrl-C, the progress line
    // gives way to one that says how far it got, instead of running into the shell's prompt.
    const stopListening =
      io.onInterrupt?.(() => {
        progress.done()
        const sessions = `expired session${deletedSoFar === 1 ? '' : 's'}`
        failure(
          io,
          'prune',
          `interrupted: at least ${deletedSoFar} ${sessions} deleted from ${target.label}; run it again to finish.`,
        )
      }) ?? (() => undefined)
    let deleted: number
    try {
      deleted = await opened.store.prune({
        ...(batchSize === undefined ? {} : { batchSize }),
        onProgress: (count) => {
          deletedSoFar = count
          progress.update(formatPruneProgress(count))
        },
      })
    } catch (error) {
      progress.done()
      return failure(io, 'prune', `${target.label}: ${describeStoreError(error, target)}`)
    } finally {
      stopListening()
      await opened.close()
    }
    progress.done()
    return report(deleted)
  },
}
