#!/usr/bin/env node
/**
 * The `cloakroom` command line (`npx cloakroom <command>`): parses the command word, dispatches
 * to the command and sets the exit code. Add a command by adding it to `COMMANDS`.
 *
 * @module cloakroom/cli
 */
import { readFileSync } from 'node:fs'
import { EXIT_USAGE, failure, type CliCommand, type CliIO } from './lib/cli/command.js'
import { inspectCommand } from './lib/cli/inspect.js'
import { keygenCommand } from './lib/cli/keygen.js'
import { pruneCommand } from './lib/cli/prune.js'
import { statsCommand } from './lib/cli/stats.js'

const COMMANDS: readonly CliCommand[] = [keygenCommand, inspectCommand, pruneCommand, statsCommand]

const usage = (): string =>
  [
    'Usage: cloakroom <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(10)}${command.summary}`),
    '',
    'Run `cloakroom <command> --help` for its options, `cloakroom --version` for the version.',
    '',
  ].join('\n')

const io: CliIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  isStderrTTY: process.stderr.isTTY === true,
  onInterrupt: (handler) => {
    const interrupted = (): void => {
      handler()
      process.exit(130) // 128 + SIGINT, as shells report it
    }
    process.once('SIGINT', interrupted)
    return () => void process.off('SIGINT', interrupted)
  },
}

// A reader that goes away first (`cloakroom stats | head -c 1`) is no error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
    process.exit(process.exitCode ?? 0)
  })
}

const [name, ...args] = process.argv.slice(2)
const command = COMMANDS.find((candidate) => candidate.name === name)
if (name === '--version' || name === '-v') {
  // package.json sits one level above this file, in the source tree and in dist/ alike.
  const { version } = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  ) as { version: string }
  io.stdout(`${version}\n`)
} else if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
  ;(name === undefined ? io.stderr : io.stdout)(usage())
  process.exitCode = name === undefined ? EXIT_USAGE : 0
} else if (command === undefined) {
  io.stderr(`cloakroom: unknown command "${name}" (run cloakroom --help)\n`)
  process.exitCode = EXIT_USAGE
} else {
  try {
    process.exitCode = await command.run(args, io)
  } catch (error) {
    // A bug or an unforeseen failure: still one line, no stack trace.
    process.exitCode = failure(
      io,
      command.name,
      error instanceof Error ? error.message : String(error),
    )
  }
}
