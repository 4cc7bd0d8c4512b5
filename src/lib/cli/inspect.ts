import type { CookieCodec, InvalidCookieReason } from '../codec/cookie-codec.js'
import { createEncryptedCodec, ENCRYPTED_FORMAT_VERSION } from '../codec/encrypted-codec.js'
import { createKeyring } from '../codec/keyring.js'
import { createPyramidCodec, PYRAMID_DEFAULT_SALT } from '../codec/pyramid-codec.js'
import { createSignedCodec, SIGNED_FORMAT_VERSION } from '../codec/signed-codec.js'
import { ConfigError } from '../errors.js'
import { joinCookieChunks, MAX_COOKIE_CHUNKS } from '../factory/cookie-chunks.js'
import { readChunkedCookie } from '../http/cookies.js'
import type { JsonValue } from '../session/serializer.js'
import { parseCommandArgs, usageError, type CliCommand } from './command.js'
import { timeText } from './time-text.js'

/** A decoded session cookie, as `cloakroom inspect` shows it. Never holds a secret. */
export interface InspectedCookie {
  /** Which factory made the cookie (`pyramid`: Pyramid's `SignedCookieSessionFactory`). */
  readonly kind: 'signed' | 'encrypted' | 'pyramid'
  /** The id of the key that signed or encrypted it; absent for a Pyramid cookie, which names none. */
  readonly keyId?: string
  /** When the session began (ISO 8601). */
  readonly created: string
  /** When the cookie was last written or re-issued (ISO 8601). */
  readonly lastActive: string
  /** The user data, as the serializer encoded it (dates appear as `{"$date": ms}`). */
  readonly data: JsonValue
  /** The library fields (CSRF token, flash queues, owner). */
  readonly system: JsonValue
}

/** The outcome of {@link inspectCookie}: the decoded cookie, or why it could not be decoded. */
export type InspectResult =
  | { readonly ok: true; readonly cookie: InspectedCookie }
  | { readonly ok: false; readonly message: string }

/** The Pyramid settings {@link inspectCookie} uses for a value that is plain base64. */
export interface InspectPyramidOptions {
  /**
   * The `salt` of the Pyramid app.
   * @defaultValue `'pyramid.session.'`
   */
  readonly salt?: string
  /**
   * The `hashalg` of the Pyramid app.
   * @defaultValue `'sha512'`
   */
  readonly hashalg?: string
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/
/** A Pyramid cookie value: base64 (either alphabet), optionally padded, optionally quoted. */
const PLAIN_BASE64 = /^"?[A-Za-z0-9+/_-]+={0,2}"?$/
const CHUNK = /^[1-9][0-9]?~/

const failure = (message: string): InspectResult => ({ ok: false, message })

/** Finds the cookie value in what the user pasted: a bare value, or a Cookie header. */
function cookieValue(input: string, cookieName: string): string | InspectResult {
  const text = input.trim().replace(/^(?:set-)?cookie:\s*/i, '')
  // A padded base64 value (a Pyramid cookie) holds "=" too, but only at its end.
  if (!text.includes('=') || PLAIN_BASE64.test(text)) {
    if (CHUNK.test(text)) {
      return failure(
        'this is one chunk of a split session; pass the whole Cookie header (quoted) instead.',
      )
    }
    return text
  }
  const { value, chunks } = readChunkedCookie(text, cookieName, MAX_COOKIE_CHUNKS)
  const found = value !== undefined && value !== '' ? value : joinCookieChunks(chunks)
  if (found !== undefined) return found
  return failure(
    chunks.length > 0
      ? `the chunks of cookie "${cookieName}" are incomplete.`
      : `no cookie named "${cookieName}" in the header (set --cookie-name).`,
  )
}

function explain(reason: InvalidCookieReason, kind: string, cookieName: string): string {
  switch (reason) {
    case 'bad-signature':
      return `the ${kind} cookie does not authenticate with the given secret(s) for cookie name "${cookieName}" (wrong secret, wrong --cookie-name, or a changed value).`
    case 'unknown-key':
      return 'the cookie names no key that was given.'
    case 'unsupported-version':
      return `the ${kind} cookie was made by another version of the wire format.`
    case 'malformed':
    case 'expired':
    case 'revoked':
      return `the value is not a well-formed ${kind} cookie.`
  }
}

function explainPyramid(reason: InvalidCookieReason): string {
  return reason === 'bad-signature'
    ? 'not a Cloakroom cookie, and as a Pyramid cookie it does not authenticate with the given secret(s) (wrong secret, --salt or --hashalg, or a changed value).'
    : NOT_A_COOKIE
}

const NOT_A_COOKIE = `not a Cloakroom signed (${SIGNED_FORMAT_VERSION}.…), encrypted (${ENCRYPTED_FORMAT_VERSION}.…) or Pyramid (base64) cookie value.`

/**
 * Decodes a signed, encrypted or Pyramid session cookie for debugging. A value that is plain
 * base64 (no Cloakroom version prefix) is tried as a cookie of Pyramid's
 * `SignedCookieSessionFactory`. Timeouts are not applied: an expired cookie still decodes.
 *
 * @param input the cookie value, or a `Cookie` header holding it (needed for split sessions)
 * @param secrets the secrets to try, in order
 * @param cookieName the cookie name the factory uses (keys are derived per cookie name)
 * @param pyramid the salt and hash algorithm of the Pyramid app, for Pyramid cookies
 * @returns the decoded cookie, or a one-line explanation (never containing a secret)
 *
 * @example
 * ```ts
 * const result = inspectCookie(value, [process.env.SESSION_SECRET!])
 * if (result.ok) console.log(result.cookie.data)
 * ```
 */
export function inspectCookie(
  input: string,
  secrets: readonly string[],
  cookieName = 'session',
  pyramid: InspectPyramidOptions = {},
): InspectResult {
  if (secrets.length === 0) return failure('give at least one secret.')
  const pyramidOptions = {
    salt: pyramid.salt ?? PYRAMID_DEFAULT_SALT,
    hashalg: pyramid.hashalg ?? 'sha512',
  }
  try {
    // Checks the hash algorithm now, whatever the cookie turns out to be.
    createPyramidCodec({ ...pyramidOptions, secret: 'x'.repeat(64), cacheEntries: 0 })
  } catch (error) {
    if (error instanceof ConfigError)
      return failure(error.message.replace('"hashalg"', '"--hashalg"'))
    throw error
  }
  for (const secret of secrets) {
    try {
      createKeyring(secret, 'inspect', '--secret')
    } catch (error) {
      if (error instanceof ConfigError) return failure(error.message)
      throw error
    }
  }
  const value = cookieValue(input, cookieName)
  if (typeof value !== 'string') return value
  const kind = value.startsWith(`${ENCRYPTED_FORMAT_VERSION}.`)
    ? 'encrypted'
    : value.startsWith(`${SIGNED_FORMAT_VERSION}.`)
      ? 'signed'
      : undefined
  const keyId = value.split('.')[1] ?? ''
  // Neither Cloakroom prefix: a Pyramid cookie is plain base64 (its payload is JSON, no dots).
  const isPyramid = kind === undefined && PLAIN_BASE64.test(value)
  if (!isPyramid && (kind === undefined || !KEY_ID.test(keyId))) return failure(NOT_A_COOKIE)
  let reason: InvalidCookieReason = 'malformed'
  for (const secret of secrets) {
    let codec: CookieCodec
    if (kind === undefined) {
      try {
        codec = createPyramidCodec({ ...pyramidOptions, secret, cacheEntries: 0 })
      } catch (error) {
        if (error instanceof ConfigError)
          return failure(error.message.replace('"secret"', '"--secret"'))
        throw error
      }
    } else {
      // The cookie names its key; the key itself depends only on the secret and the purpose.
      const keyring = createKeyring({ id: keyId, secret }, `${kind}-cookie/${cookieName}`)
      codec =
        kind === 'encrypted'
          ? createEncryptedCodec({ keyring, cookieName, cacheEntries: 0 })
          : createSignedCodec({ keyring, cacheEntries: 0 })
    }
    const decoded = codec.decode(value)
    if (!decoded.ok) {
      reason = decoded.reason
      continue
    }
    const { created, lastActive, body } = decoded.payload
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      return failure('the cookie authenticates but its body is not JSON.')
    }
    // The factories' own check: anything else gives the app a fresh session, and so says so here.
    if (!isRecord(parsed) || !isRecord(parsed.d) || !isRecordOrAbsent(parsed.s)) {
      return failure(
        'the cookie authenticates but its body is not a session (the app gives a fresh session).',
      )
    }
    return {
      ok: true,
      cookie: {
        kind: kind ?? 'pyramid',
        ...(kind === undefined ? {} : { keyId }),
        created: timeText(created),
        lastActive: timeText(lastActive),
        data: parsed.d,
        system: parsed.s ?? {},
      },
    }
  }
  return failure(kind === undefined ? explainPyramid(reason) : explain(reason, kind, cookieName))
}

function isRecord(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isRecordOrAbsent(value: unknown): value is Record<string, JsonValue> | undefined {
  return value === undefined || isRecord(value)
}

function formatText(cookie: InspectedCookie): string {
  const indent = (json: JsonValue): string => JSON.stringify(json, null, 2).replace(/\n/g, '\n  ')
  return [
    `kind:        ${cookie.kind}`,
    ...(cookie.keyId === undefined ? [] : [`key id:      ${cookie.keyId}`]),
    `created:     ${cookie.created}`,
    `last active: ${cookie.lastActive}`,
    `data:        ${indent(cookie.data)}`,
    `system:      ${indent(cookie.system)}`,
    '',
  ].join('\n')
}

/** `cloakroom inspect`: decodes a signed, encrypted or Pyramid cookie for debugging. */
export const inspectCommand: CliCommand = {
  name: 'inspect',
  summary: 'decode a signed, encrypted or Pyramid session cookie for debugging',
  usage: `Usage: cloakroom inspect <cookie> [--secret S]... [--cookie-name NAME]
                         [--salt SALT] [--hashalg ALG] [--json]

Decodes a Cloakroom signed or encrypted session cookie and prints its key id, times, data and
library fields. A value that is plain base64 is tried as a cookie of Pyramid's
SignedCookieSessionFactory (cloakroom/pyramid). Timeouts are not applied. The secret is never
printed.

<cookie> is the cookie value, or a whole Cookie header in quotes (needed for a session split
over several cookies: "session.0=...; session.1=...").

Options:
  --secret S          a secret of the factory; repeat it to try several keys. Without it, the
                      CLOAKROOM_SECRET environment variable is used (preferred: a secret on the
                      command line ends up in your shell history)
  --cookie-name NAME  the factory's cookieName; keys are derived per name (default: session)
  --salt SALT         Pyramid cookies: the app's salt (default: pyramid.session.)
  --hashalg ALG       Pyramid cookies: the app's hashalg (default: sha512)
  --json              print one JSON object
  -h, --help          show this text
`,
  run(args, io) {
    const parsed = parseCommandArgs(args, {
      secret: { type: 'string', multiple: true },
      'cookie-name': { type: 'string' },
      salt: { type: 'string' },
      hashalg: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    })
    if (!parsed.ok) return usageError(io, 'inspect', parsed.message)
    const { values, positionals } = parsed
    if (values.help === true) {
      io.stdout(inspectCommand.usage)
      return 0
    }
    if (positionals.length !== 1) return usageError(io, 'inspect', 'expected one <cookie>.')
    const given = Array.isArray(values.secret) ? values.secret.map(String) : []
    const fromEnv = io.env.CLOAKROOM_SECRET
    const secrets =
      given.length > 0 ? given : fromEnv !== undefined && fromEnv !== '' ? [fromEnv] : []
    if (secrets.length === 0) {
      return usageError(io, 'inspect', 'give --secret or set CLOAKROOM_SECRET.')
    }
    const cookieName = values['cookie-name']
    const result = inspectCookie(
      positionals[0]!,
      secrets,
      typeof cookieName === 'string' ? cookieName : 'session',
      {
        ...(typeof values.salt === 'string' ? { salt: values.salt } : {}),
        ...(typeof values.hashalg === 'string' ? { hashalg: values.hashalg } : {}),
      },
    )
    if (!result.ok) return usageError(io, 'inspect', result.message)
    io.stdout(
      values.json === true ? `${JSON.stringify(result.cookie)}\n` : formatText(result.cookie),
    )
    return 0
  },
}
