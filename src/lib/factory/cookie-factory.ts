import type { CookieCodec, InvalidCookieReason } from '../codec/cookie-codec.js'
import { ConfigError, CookieTooLargeError } from '../errors.js'
import { EXPIRED_LIFETIME, formatLifetime, readCookie } from '../http/cookies.js'
import type { JsonValue } from '../session/serializer.js'
import {
  Session,
  sessionChanges,
  type DefaultSessionData,
  type SessionContext,
  type SessionInit,
} from '../session/session.js'
import type { ResolvedCookieOptions } from './options.js'
import type { CommitOptions, SessionFactory } from './session-factory.js'

/** The default cap on a whole `Set-Cookie` header, in bytes. */
export const MAX_COOKIE_BYTES = 4096

/** Where a loaded session came from, kept beside it until commit. */
interface LoadedCookie {
  /** A valid cookie came with the request. */
  valid: boolean
  /** Last-activity time from the cookie. */
  lastActive: number
  /** The cookie was made with a key other than the current one. */
  staleKey: boolean
}

/** The JSON body inside a cookie: user data (`d`) and library fields (`s`). */
interface CookieBody {
  d: Record<string, JsonValue>
  s?: Record<string, JsonValue>
}

function isRecord(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Validates `maxCookieBytes`.
 *
 * @param value the option as given
 * @returns the limit in bytes
 * @throws {@link ConfigError} when it is not a whole number between 256 and 65536
 */
export function resolveMaxCookieBytes(value: number | undefined): number {
  if (value === undefined) return MAX_COOKIE_BYTES
  if (!Number.isInteger(value) || value < 256 || value > 65_536) {
    throw new ConfigError('maxCookieBytes', 'expected a whole number of bytes between 256 and 65536.')
  }
  return value
}

/**
 * The engine shared by the cookie factories: the session lives in the cookie itself, and `codec`
 * decides how it is protected (signed, encrypted, Pyramid's format).
 *
 * @param codec authenticates (and possibly encrypts) cookie values
 * @param options validated cookie options
 * @param maxCookieBytes the cap on a whole `Set-Cookie` header
 * @returns the factory
 */
export function createCookieSessionFactory<Data extends object = DefaultSessionData>(
  codec: CookieCodec,
  options: ResolvedCookieOptions,
  maxCookieBytes: number,
): SessionFactory<Data> {
  const { cookieName, now, serializer, timeoutMs, reissueMs, absoluteTimeoutMs } = options
  const context: SessionContext = { serializer, now }
  const loaded = new WeakMap<Session<Data>, LoadedCookie>()
  const deletion = `${cookieName}=${EXPIRED_LIFETIME}${options.attributeString}`

  const refuse = (reason: InvalidCookieReason): SessionInit => {
    options.onInvalidCookie?.(reason, { cookieName })
    return { created: now(), isNew: true }
  }

  const resolve = (value: string, state: LoadedCookie): SessionInit => {
    const decoded = codec.decode(value)
    if (!decoded.ok) return refuse(decoded.reason)
    const { created, lastActive, body } = decoded.payload
    const time = now()
    if (created > time + 60_000 || lastActive > time + 60_000 || lastActive < created) return refuse('malformed')
    if (timeoutMs !== null && time - lastActive > timeoutMs) return refuse('expired')
    if (absoluteTimeoutMs !== null && time - created > absoluteTimeoutMs) return refuse('expired')
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      return refuse('malformed')
    }
    if (!isRecord(parsed) || !isRecord(parsed.d) || (parsed.s !== undefined && !isRecord(parsed.s))) {
      return refuse('malformed')
    }
    const decode = (record: Record<string, JsonValue>): [string, unknown][] =>
      Object.keys(record).map((key) => [key, serializer.decode(record[key]!)])
    let init: SessionInit
    try {
      init = {
        data: decode(parsed.d),
        system: parsed.s === undefined ? undefined : decode(parsed.s),
        created,
        isNew: false,
      } as SessionInit
    } catch {
      return refuse('malformed')
    }
    state.valid = true
    state.lastActive = lastActive
    state.staleKey = decoded.staleKey
    return init
  }

  const write = (created: number, data: Record<string, JsonValue>, system: Record<string, JsonValue>): string => {
    const time = now()
    const body: CookieBody = { d: data }
    for (const _ in system) {
      body.s = system
      break
    }
    const value = codec.encode({ created, lastActive: time, body: JSON.stringify(body) })
    const header = `${cookieName}=${value}${formatLifetime(options.maxAge, time)}${options.attributeString}`
    const size = Buffer.byteLength(header)
    if (size > maxCookieBytes) throw new CookieTooLargeError(size, maxCookieBytes)
    return header
  }

  return {
    cookieName,
    load(cookieHeader) {
      const value = readCookie(cookieHeader, cookieName)
      if (value === undefined) return new Session<Data>(() => ({ created: now(), isNew: true }), context)
      const state: LoadedCookie = { valid: false, lastActive: 0, staleKey: false }
      const session = new Session<Data>(() => resolve(value, state), context)
      loaded.set(session, state)
      return session
    },
    commit(session, commitOptions?: CommitOptions) {
      const view = sessionChanges(session)
      view.lock()
      if (!view.accessed || (commitOptions?.failed === true && !options.setOnException)) return []
      const state = loaded.get(session)
      const hadSession = state?.valid === true
      if (view.isEmpty()) {
        // An invalidated or emptied session leaves no cookie behind.
        return view.invalidated || (hadSession && (view.dataChanges() !== undefined || view.forced))
          ? [deletion]
          : []
      }
      const dirty =
        view.forced ||
        view.invalidated ||
        view.regenerated ||
        view.dataChanges() !== undefined ||
        view.systemChanges() !== undefined
      if (!dirty) {
        if (!hadSession) return []
        const reissueDue = reissueMs !== null && (reissueMs === 0 || now() - state.lastActive > reissueMs)
        if (!reissueDue && !state.staleKey) return []
      }
      return [write(view.created, view.encodeData(), view.encodeSystem())]
    },
  }
}
