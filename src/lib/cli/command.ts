import { parseArgs, type ParseArgsConfig } from 'node:util'

/** Where a command writes, and the environment it reads. Injected so commands stay testable. */
export interface CliIO {
  /** Writes to standard output. */
  readonly stdout: (text: string) => void
  /** Writes to standard error. */
  readonly stderr: (text: string) => void
  /** The process environment. */
  readonly env: Readonly<Record<string, string | undefined>>
  /**
   * Whether standard error is a terminal: progress lines are drawn only then.
   * @defaultValue false
   */
  readonly isStderrTTY?: boolean
  /**
   * Registers what to do when the user interrupts the command (Ctrl-C, `SIGINT`), before the
   * process exits with status 130. Absent in tests that do not interrupt.
   * @param handler writes what the user should know (how far the work got)
   * @returns a function that removes the handler, for when the work is over
   */
  readonly onInterrupt?: (handler: () => void) => () => void
}

/** One subcommand of the `cloakroom` command line. */
export interface CliCommand {
  /** The word that selects it: `cloakroom <name>`. */
  readonly name: string
  /** One line for the command list. */
  readonly summary: string
  /** The full usage text, printed by `cloakroom <name> --help`. */
  readonly usage: string
  /**
   * @param args the arguments after the command name
   * @param io where to write
   * @returns the exit code: 0 on success, {@link EXIT_USAGE} on bad input, {@link EXIT_FAILURE}
   * when the work itself failed
   */
  run(args: readonly string[], io: CliIO): number | Promise<number>
}

/** The exit code for bad input of any kind; the message is one line on standard error. */
export const EXIT_USAGE = 2

/**
 * The exit code for a runtime failure (a database that cannot be reached, a missing file); the
 * message is one line on standard error.
 */
export const EXIT_FAILURE = 1

/**
 * Writes a one-line error for a command whose work failed and returns {@link EXIT_FAILURE}.
 *
 * @param io where to write
 * @param command the command name
 * @param message what failed (never a secret)
 * @returns the exit code for a runtime failure, 1
 */
export function failure(io: CliIO, command: string, message: string): number {
  io.stderr(`cloakroom ${command}: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
  return EXIT_FAILURE
}

/**
 * Writes a one-line error for a command and returns {@link EXIT_USAGE}.
 *
 * @param io where to write
 * @param command the command name
 * @param message what is wrong (never a secret)
 * @returns the exit code for bad input, 2
 */
export function usageError(io: CliIO, command: string, message: string): number {
  io.stderr(
    `cloakroom ${command}: ${message.replace(/\s*\n\s*/g, ' ')} (see cloakroom ${command} --help)\n`,
  )
  return EXIT_USAGE
}

/** The value of one parsed option: a flag, a string, or a list of them for repeatable options. */
export type OptionValue = string | boolean | (string | boolean)[] | undefined

/** The result of {@link parseCommandArgs}: the parsed arguments, or the message for a usage error. */
export type ParsedArgs =
  | {
      readonly ok: true
      readonly values: Readonly<Record<string, OptionValue>>
      readonly positionals: readonly string[]
    }
  | { readonly ok: false; readonly message: string }

/**
 * Parses a command's arguments strictly with `node:util`'s `parseArgs`, turning its errors into
 * a message instead of an exception.
 *
 * @param args the arguments after the command name
 * @param options the `options` of `parseArgs`
 * @returns the values and positionals, or the error message
 */
export function parseCommandArgs(
  args: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options,
      allowPositionals: true,
      strict: true,
    })
    return { ok: true, values, positionals }
  } catch (error) {
    // One line: parseArgs's first sentence, and its advice for values that start with "-" (a
    // base64url secret or cookie can) said shortly.
    const message = (error as Error).message
    const first = `${message.split(/\.(?:\s|$)/)[0]!}.`
    const option = /use '(--[A-Za-z0-9-]+)=-XYZ'/.exec(message)?.[1]
    if (option !== undefined) {
      return {
        ok: false,
        message: `${first} For a value that starts with "-", write ${option}=VALUE.`,
      }
    }
    if (message.includes("after '--'")) {
      return {
        ok: false,
        message: `${first} For an argument that starts with "-", put it after --.`,
      }
    }
    return { ok: false, message: first }
  }
}
