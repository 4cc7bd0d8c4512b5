import type { InvalidCookieReason } from '../codec/cookie-codec.js'
import { ConfigError } from '../errors.js'
import { guardHook } from '../guard-hook.js'
import { formatCookieAttributes, type CookieAttributes } from '../http/cookies.js'
import {
  decodesLazily,
  guardSerializer,
  jsonSerializer,
  type Serializer,
} from '../session/serializer.js'

/** Details passed to `onInvalidCookie`; never the cookie value itself. */
export interface InvalidCookieInfo {
  /** The name of the refused cookie. */
  readonly cookieName: string
}

/** The cookie and lifetime options every session factory shares. */
export interface SessionCookieOptions {
  /**
   * The cookie name. A `__Host-` prefix requires `secure`, `path: '/'` and no `domain`.
   * @defaultValue `'session'`
   */
  readonly cookieName?: string
  /**
   * Cookie lifetime in the browser, in seconds; omit for a cookie that ends with the browser
   * session. Sent again on every write and re-issue, so it slides with activity.
   * @defaultValue undefined
   */
  readonly maxAge?: number
  /**
   * The cookie `Path`.
   * @defaultValue `'/'`
   */
  readonly path?: string
  /**
   * The cookie `Domain`. Leave it unset unless subdomains must share the session.
   * @defaultValue undefined
   */
  readonly domain?: string
  /**
   * Send the cookie over HTTPS only. Browsers also accept it on `http://localhost`.
   *
   * > [!WARNING]
   * > Turn it off only for local development over plain HTTP on another host name.
   * @defaultValue true
   */
  readonly secure?: boolean
  /**
   * Hide the cookie from JavaScript.
   * @defaultValue true
   */
  readonly httpOnly?: boolean
  /**
   * The `SameSite` attribute: `'lax'`, `'strict'` or `'none'` (which requires `secure`).
   * @defaultValue `'lax'`
   */
  readonly sameSite?: 'lax' | 'strict' | 'none' | 'Lax' | 'Strict' | 'None'
  /**
   * Idle timeout in seconds: a session not used for longer ends. `null` disables it.
   * @defaultValue 1200
   */
  readonly timeout?: number | null
  /**
   * Seconds after the last write after which a request that reads the session re-issues its
   * cookie (extending the idle timeout). `0` re-issues on every read; `null` never (only writes
   * extend the session).
   * @defaultValue `timeout / 10`, or `null` when `timeout` is `null`
   */
  readonly reissueTime?: number | null
  /**
   * Seconds after `created` at which a session ends however active it is. `null` disables it.
   * @defaultValue 86400 (one day)
   */
  readonly absoluteTimeout?: number | null
  /**
   * Save the session when the handler throws (the response is then a 500).
   * @defaultValue true
   */
  readonly setOnException?: boolean
  /**
   * Turns session values into JSON and back. Whatever its `encode` throws reaches the app as an
   * `UnserializableValueError` naming the key (the original error is its `cause`). A custom
   * serializer's values are all decoded when the session loads, so a cookie or record it cannot
   * decode gives a fresh session (`onInvalidCookie('malformed')`) rather than an error in the
   * handler; the built-in ones decode a value when it is first read.
   * @defaultValue {@link jsonSerializer} (JSON values and Date)
   */
  readonly serializer?: Serializer
  /**
   * The clock, in milliseconds since the epoch. Inject one in tests instead of sleeping.
   * @defaultValue `Date.now`
   */
  readonly now?: () => number
  /**
   * Told why an incoming cookie was refused (the request then gets a fresh session). Use it for
   * logging or brute-force detection; it never receives the cookie value. An error it throws is
   * not thrown to the request (which still gets its fresh session): it is emitted as a process
   * warning (`process.on('warning')`, code `CLOAKROOM_HOOK_ERROR`).
   * @defaultValue undefined
   */
  readonly onInvalidCookie?: (reason: InvalidCookieReason, info: InvalidCookieInfo) => void
}

/** {@link SessionCookieOptions} after validation, with every default filled in and times in ms. */
export interface ResolvedCookieOptions {
  readonly cookieName: string
  readonly attributes: CookieAttributes
  /** The constant `; Path=/; HttpOnly; ...` tail of every `Set-Cookie`. */
  readonly attributeString: string
  readonly maxAge: number | undefined
  readonly timeoutMs: number | null
  readonly reissueMs: number | null
  readonly absoluteTimeoutMs: number | null
  readonly setOnException: boolean
  /** The serializer, with every encoding failure made an `UnserializableValueError`. */
  readonly serializer: Serializer
  /** Whether stored values may stay encoded until read (the built-in serializers). */
  readonly decodesLazily: boolean
  readonly now: () => number
  readonly onInvalidCookie:
    ((reason: InvalidCookieReason, info: InvalidCookieInfo) => void) | undefined
}

/** The default idle timeout, in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 1200
/** The default absolute timeout, in seconds (one day). */
export const DEFAULT_ABSOLUTE_TIMEOUT_SECONDS = 86_400
/** The longest `maxAge` browsers honour: 400 days (RFC 6265bis), in seconds. */
export const MAX_COOKIE_LIFETIME_SECONDS = 400 * 86_400

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** Far above any real name; the name also goes into the key derivation, whose input is capped. */
const MAX_COOKIE_NAME_LENGTH = 256
const SAFE_ATTRIBUTE = /^[\u0021-\u003A\u003C-\u007E]+$/ // visible ASCII without ";"

function seconds(option: string, value: unknown, allowNull: boolean): number | null | undefined {
  if (value === undefined) return undefined
  if (value === null && allowNull) return null
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(
      option,
      `expected a number of seconds >= 0${allowNull ? ' or null' : ''}.`,
    )
  }
  return value
}

function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  const lower = typeof value === 'string' ? value.toLowerCase() : value
  if (!allowed.includes(lower as T)) {
    throw new ConfigError(option, `expected one of ${allowed.map((a) => `'${a}'`).join(', ')}.`)
  }
  return lower as T
}

function flag(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new ConfigError(option, 'expected true or false.')
  return value
}

/**
 * Validates the shared cookie options once, at construction.
 *
 * @param options what the user passed
 * @returns the options with defaults filled in
 * @throws {@link ConfigError} for any invalid or insecure combination
 */
export function resolveCookieOptions(options: SessionCookieOptions): ResolvedCookieOptions {
  const cookieName = options.cookieName ?? 'session'
  if (
    typeof cookieName !== 'string' ||
    !COOKIE_NAME.test(cookieName) ||
    cookieName.length > MAX_COOKIE_NAME_LENGTH
  ) {
    throw new ConfigError(
      'cookieName',
      `a cookie name is a token of 1 to ${MAX_COOKIE_NAME_LENGTH} characters without spaces, ";", "=", "," or quotes.`,
    )
  }
  const path = options.path ?? '/'
  if (typeof path !== 'string' || !SAFE_ATTRIBUTE.test(path) || !path.startsWith('/')) {
    throw new ConfigError(
      'path',
      'a path starts with "/" and holds visible ASCII characters other than ";".',
    )
  }
  const domain = options.domain
  if (
    domain !== undefined &&
    (typeof domain !== 'string' || !/^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(domain))
  ) {
    throw new ConfigError(
      'domain',
      'a domain is labels of letters, digits and "-" joined by single dots, such as "example.com".',
    )
  }
  const secure = flag('secure', options.secure, true)
  const httpOnly = flag('httpOnly', options.httpOnly, true)
  const sameSite = oneOf('sameSite', options.sameSite ?? 'lax', ['lax', 'strict', 'none'] as const)
  if (sameSite === 'none' && !secure) {
    throw new ConfigError(
      'sameSite',
      "browsers refuse SameSite=None without Secure; set secure: true or use 'lax'.",
    )
  }
  // Browsers match the prefixes in any case (RFC 6265bis), so `__host-` is held to them too.
  const prefix = cookieName.slice(0, 9).toLowerCase()
  if (prefix.startsWith('__host-') && (!secure || domain !== undefined || path !== '/')) {
    throw new ConfigError(
      'cookieName',
      'a __Host- cookie requires secure: true, path: "/" and no domain.',
    )
  }
  if (prefix === '__secure-' && !secure) {
    throw new ConfigError('cookieName', 'a __Secure- cookie requires secure: true.')
  }
  const maxAge = seconds('maxAge', options.maxAge, false) ?? undefined
  if (maxAge !== undefined && !Number.isInteger(maxAge)) {
    throw new ConfigError('maxAge', 'expected a whole number of seconds.')
  }
  if (maxAge === 0) {
    throw new ConfigError(
      'maxAge',
      '0 would make every cookie a deletion; leave maxAge unset for a browser-session cookie.',
    )
  }
  if (maxAge !== undefined && maxAge > MAX_COOKIE_LIFETIME_SECONDS) {
    throw new ConfigError(
      'maxAge',
      `browsers keep a cookie at most 400 days; use at most ${MAX_COOKIE_LIFETIME_SECONDS} seconds.`,
    )
  }
  const timeout = seconds('timeout', options.timeout, true)
  if (timeout === 0) {
    throw new ConfigError(
      'timeout',
      '0 would end every session as soon as it is written; use null to turn the idle timeout off.',
    )
  }
  const timeoutSeconds = timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : timeout
  const reissue = seconds('reissueTime', options.reissueTime, true)
  if (reissue != null && timeoutSeconds !== null && reissue >= timeoutSeconds) {
    throw new ConfigError(
      'reissueTime',
      `a session read ${reissue} s after its last write has already passed its ${timeoutSeconds} s ` +
        'timeout, so reads would never extend it; use less than timeout (the default is a tenth).',
    )
  }
  const reissueSeconds =
    reissue === undefined ? (timeoutSeconds === null ? null : timeoutSeconds / 10) : reissue
  const absolute = seconds('absoluteTimeout', options.absoluteTimeout, true)
  const absoluteSeconds = absolute === undefined ? DEFAULT_ABSOLUTE_TIMEOUT_SECONDS : absolute
  const now = options.now ?? Date.now
  if (typeof now !== 'function')
    throw new ConfigError('now', 'expected a function returning milliseconds.')
  const hook = options.onInvalidCookie
  if (hook !== undefined && typeof hook !== 'function') {
    throw new ConfigError('onInvalidCookie', 'expected a function.')
  }
  // A bad cookie always gives a fresh session: a hook that throws (a logger that is down) must
  // not turn it into a 500.
  const onInvalidCookie = hook === undefined ? undefined : guardHook('onInvalidCookie', hook)
  const serializer = options.serializer ?? jsonSerializer
  if (typeof serializer?.encode !== 'function' || typeof serializer.decode !== 'function') {
    throw new ConfigError('serializer', 'expected an object with encode() and decode().')
  }
  const attributes: CookieAttributes = { path, domain, secure, httpOnly, sameSite }
  let attributeString: string
  try {
    attributeString = formatCookieAttributes(cookieName, attributes)
  } catch (error) {
    throw new ConfigError('cookieName', (error as Error).message)
  }
  const ms = (value: number | null): number | null =>
    value === null ? null : Math.round(value * 1000)
  return {
    cookieName,
    attributes,
    attributeString,
    maxAge,
    timeoutMs: ms(timeoutSeconds),
    reissueMs: ms(reissueSeconds),
    absoluteTimeoutMs: ms(absoluteSeconds),
    setOnException: flag('setOnException', options.setOnException, true),
    serializer: guardSerializer(serializer),
    decodesLazily: decodesLazily(serializer),
    now,
    onInvalidCookie,
  }
}
