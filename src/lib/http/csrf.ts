import { CsrfError, ConfigError } from '../errors.js'
import { CSRF_TOKEN_FIELD, systemFields, type Session } from '../session/session.js'
import { verifyCsrfToken } from '../session/csrf-token.js'

/** Options of the CSRF protection, the same in every adapter. */
export interface CsrfOptions {
  /**
   * Methods that are never checked.
   * @defaultValue `['GET', 'HEAD', 'OPTIONS', 'TRACE']`
   */
  readonly safeMethods?: readonly string[]
  /**
   * The request header carrying the token (checked first).
   * @defaultValue `'x-csrf-token'`
   */
  readonly headerName?: string
  /**
   * The form field carrying the token (checked when the header is absent). Never read from the
   * query string.
   * @defaultValue `'csrf_token'`
   */
  readonly fieldName?: string
  /**
   * Other origins allowed to send unsafe requests over HTTPS, such as `https://admin.example.com`.
   * `'null'` allows an `Origin: null` (sandboxed pages, some redirects).
   * @defaultValue `[]`
   */
  readonly trustedOrigins?: readonly string[]
}

/** {@link CsrfOptions} after validation. */
export interface ResolvedCsrfOptions {
  readonly safeMethods: ReadonlySet<string>
  readonly headerName: string
  readonly fieldName: string
  readonly trustedOrigins: ReadonlySet<string>
}

/** What the CSRF check needs to know about a request; each adapter supplies it. */
export interface CsrfRequest {
  /** The HTTP method. */
  readonly method: string
  /** The request's own origin, such as `https://example.com` (scheme, host and port). */
  readonly origin: string
  /**
   * @param name a header name, lower case
   * @returns the header's value, or undefined
   */
  header(name: string): string | undefined
  /**
   * Reads the token field of a form body without taking the body away from the handler.
   *
   * @param field the form field name
   * @returns the field's value, or undefined when there is no form body or no such field
   */
  formField(field: string): string | undefined | Promise<string | undefined>
}

/**
 * Validates CSRF options once, at construction.
 *
 * @param options what the user passed
 * @returns the options with defaults filled in
 * @throws {@link ConfigError} for invalid options
 */
export function resolveCsrfOptions(options: CsrfOptions = {}): ResolvedCsrfOptions {
  const list = (
    name: string,
    value: readonly string[] | undefined,
    fallback: string[],
  ): string[] => {
    if (value === undefined) return fallback
    const items: readonly unknown[] | undefined = Array.isArray(value) ? value : undefined
    if (items === undefined || items.some((item) => typeof item !== 'string')) {
      throw new ConfigError(name, 'expected a list of strings.')
    }
    return items as string[]
  }
  const trusted = list('trustedOrigins', options.trustedOrigins, [])
  for (const origin of trusted) {
    if (origin !== 'null' && (!/^https?:\/\/[^/\s]+$/.test(origin) || !URL.canParse(origin))) {
      throw new ConfigError(
        'trustedOrigins',
        `"${origin}" is not an origin such as https://example.com.`,
      )
    }
  }
  const name = (option: string, value: string | undefined, fallback: string): string => {
    if (value === undefined) return fallback
    if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value)) {
      throw new ConfigError(option, 'expected letters, digits, "_" or "-".')
    }
    return value
  }
  return {
    safeMethods: new Set(
      list('safeMethods', options.safeMethods, ['GET', 'HEAD', 'OPTIONS', 'TRACE']).map((m) =>
        m.toUpperCase(),
      ),
    ),
    headerName: name('headerName', options.headerName, 'x-csrf-token').toLowerCase(),
    fieldName: name('fieldName', options.fieldName, 'csrf_token'),
    // As browsers send them: default ports dropped, international names in punycode.
    trustedOrigins: new Set(trusted.map((origin) => originOf(origin)!)),
  }
}

/** What {@link originOf} makes of a value that is not a URL: it never matches anything. */
const INVALID_ORIGIN = 'invalid'

function originOf(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  if (value === 'null') return 'null'
  try {
    return new URL(value).origin.toLowerCase()
  } catch {
    return INVALID_ORIGIN
  }
}

/**
 * Checks an unsafe request against CSRF: on HTTPS its `Origin` (or `Referer`) must be the
 * request's own origin or a trusted one (on any scheme, `Sec-Fetch-Site: cross-site` is refused
 * unless the origin is trusted), and it must carry the session's token (plain or masked) in the
 * header or, when the header is absent, the form field. Safe methods pass without a check. Never writes to the session.
 *
 * @param request the request, as the adapter sees it
 * @param session the request's session
 * @param options resolved options
 * @throws {@link CsrfError} when the request is refused
 */
export async function checkCsrf<Data extends object>(
  request: CsrfRequest,
  session: Session<Data>,
  options: ResolvedCsrfOptions,
): Promise<void> {
  if (options.safeMethods.has(request.method.toUpperCase())) return
  const normalized = originOf(request.origin)
  // An own origin that is no URL (a strange Host header) keeps its scheme for the HTTPS rule.
  const own =
    normalized === undefined || normalized === INVALID_ORIGIN
      ? request.origin.toLowerCase()
      : normalized
  const origin = originOf(request.header('origin')) ?? originOf(request.header('referer'))
  const trusted =
    origin !== undefined &&
    origin !== INVALID_ORIGIN &&
    (origin === own || options.trustedOrigins.has(origin))
  // Over HTTPS the origin must be known and trusted; on any scheme, a browser that says the
  // request is cross-site is believed unless the origin is trusted.
  if (own.startsWith('https:') && !trusted) throw new CsrfError('bad-origin')
  if (request.header('sec-fetch-site') === 'cross-site' && !trusted)
    throw new CsrfError('bad-origin')
  let supplied = request.header(options.headerName)
  if (supplied === undefined || supplied === '')
    supplied = await request.formField(options.fieldName)
  if (supplied === undefined || supplied === '') throw new CsrfError('missing-token')
  const expected = systemFields(session).read(CSRF_TOKEN_FIELD)
  if (!verifyCsrfToken(expected, supplied)) throw new CsrfError('bad-token')
}
