import type { CliIO } from './command.js'

/** A status line on standard error that a long command redraws in place. */
export interface ProgressLine {
  /**
   * Redraws the line with new text (`\r`, the text, then "erase to end of line"). Does nothing
   * when standard error is not a terminal, so logs and pipes stay clean.
   * @param text the new status, one line
   */
  update(text: string): void
  /** Erases the line, if one was drawn, so the result starts on a clean line. */
  done(): void
}

/** Erases from the cursor to the end of the line (ANSI "EL"). */
const ERASE_LINE = '\x1b[K'

/**
 * Creates a progress line that is drawn only when standard error is a terminal.
 *
 * @param io where to write, and whether standard error is a terminal (`io.isStderrTTY`)
 * @returns the progress line
 *
 * @example
 * ```ts
 * const progress = createProgressLine(io)
 * await store.prune({ onProgress: (n) => progress.update(formatPruneProgress(n)) })
 * progress.done()
 * ```
 */
export function createProgressLine(io: CliIO): ProgressLine {
  const enabled = io.isStderrTTY === true
  let drawn = false
  return {
    update(text) {
      if (!enabled) return
      io.stderr(`\r${text.replace(/[\r\n]+/g, ' ')}${ERASE_LINE}`)
      drawn = true
    },
    done() {
      if (!drawn) return
      io.stderr(`\r${ERASE_LINE}`)
      drawn = false
    },
  }
}

/**
 * The progress text of `cloakroom prune`.
 *
 * @param deleted how many sessions have been deleted so far
 * @returns the status, such as `pruning: 2000 expired sessions deleted so far...`
 */
export function formatPruneProgress(deleted: number): string {
  return `pruning: ${deleted} expired session${deleted === 1 ? '' : 's'} deleted so far...`
}
