import { randomBytes } from 'node:crypto'
import { MIN_SECRET_BYTES } from '../codec/keyring.js'
import { parseCommandArgs, usageError, type CliCommand } from './command.js'

const MAX_SECRET_BYTES = 1024

/**
 * Generates a secret for the cookie factories' `secrets` option.
 *
 * @param bytes how many random bytes (at least 32)
 * @returns the secret, base64url without padding (43 characters for 32 bytes), never starting
 *   with `-` (one draw in 64 is redrawn, so a shell never mistakes it for an option)
 *
 * @example
 * ```ts
 * const secret = generateSecret() // what `npx cloakroom keygen` prints
 * ```
 */
export function generateSecret(bytes: number = MIN_SECRET_BYTES): string {
  // Never a leading "-", which a command line would take for an option.
  for (;;) {
    const secret = randomBytes(bytes).toString('base64url')
    if (!secret.startsWith('-')) return secret
  }
}

/** `cloakroom keygen`: prints a new random secret. */
export const keygenCommand: CliCommand = {
  name: 'keygen',
  summary: 'print a new random secret (32 bytes, base64url) for the secrets option',
  usage: `Usage: cloakroom keygen [--bytes N] [--json]

Prints a new random secret on standard output, base64url without padding.

Options:
  --bytes N   random bytes in the secret (${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES}; default ${MIN_SECRET_BYTES})
  --json      print {"secret": "..."}
  -h, --help  show this text
`,
  run(args, io) {
    const parsed = parseCommandArgs(args, {
      bytes: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    })
    if (!parsed.ok) return usageError(io, 'keygen', parsed.message)
    if (parsed.values.help === true) {
      io.stdout(keygenCommand.usage)
      return 0
    }
    if (parsed.positionals.length > 0) return usageError(io, 'keygen', 'takes no arguments.')
    const text = parsed.values.bytes
    let bytes = MIN_SECRET_BYTES
    if (text !== undefined)
      bytes = typeof text === 'string' && /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN
    if (!(bytes >= MIN_SECRET_BYTES && bytes <= MAX_SECRET_BYTES)) {
      return usageError(
        io,
        'keygen',
        `--bytes must be a whole number from ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES}.`,
      )
    }
    const secret = generateSecret(bytes)
    io.stdout(parsed.values.json === true ? `${JSON.stringify({ secret })}\n` : `${secret}\n`)
    return 0
  },
}
