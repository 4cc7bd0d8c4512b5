import type { CookieCodec, InvalidCookieReason } from '../codec/cookie-codec.js'
import { ConfigError, CookieTooLargeError } from '../errors.js'
import { EXPIRED_LIFETIME, formatLifetime, readChunkedCookie } from '../http/cookies.js'
import type { JsonValue } from '../session/serializer.js'
import {
  Session,
  sessionChanges,
  type DefaultSessionData,
  type SessionContext,
  type SessionInit,
} from '../session/session.js'
import { joinCookieChunks, MAX_COOKIE_CHUNKS, splitCookieValue } from './cookie-chunks.js'
import type { ResolvedCookieOptions } from './options.js'
import type { CommitOptions, SessionFactory } from './session-factory.js'

/** The default cap on a whole `Set-Cookie` header, in bytes. */
export const MAX_COOKIE_BYTES = 4096

/**
 * The default cap, with `overflow: 'split'`, on what a session's cookies add to the `Cookie`
 * request header, in bytes (12 KiB: three full cookies). Node's HTTP server refuses requests
 * whose headers exceed 16 KiB in total (`431`), and the request line, the other headers and the
 * site's other cookies need the rest.
 */
export const MAX_TOTAL_COOKIE_BYTES = 12 * 1024

/** What a cookie factory does with a session that does not fit in one cookie. */
export type CookieOverflow = 'throw' | 'split'

/** The size options shared by the cookie factories. */
export interface CookieSizeOptions {
  /**
   * The largest `Set-Cookie` header (name, value and attributes) the factory will send, in
   * bytes. Browsers drop cookies over 4096 bytes.
   * @defaultValue 4096
   */
  readonly maxCookieBytes?: number
  /**
   * What to do when the session does not fit in one cookie: `'throw'` a
   * {@link CookieTooLargeError} at commit, or `'split'` the value over numbered cookies
   * (`session.0`, `session.1`, ...) that are authenticated as one message. Sessions that fit stay
   * in one cookie named `cookieName` either way.
   *
   * > [!WARNING]
   * > Switching from `'split'` back to `'throw'` ends the sessions that were split.
   * @defaultValue `'throw'`
   */
  readonly overflow?: CookieOverflow
  /**
   * With `overflow: 'split'`, the most the session's cookies may add to the browser's `Cookie`
   * request header (`name.0=...; name.1=...`), in bytes; larger sessions throw
   * {@link CookieTooLargeError}. Servers cap request headers (Node: 16 KiB in total, nginx: 8 KiB
   * per header line by default), so raise it only when every server on the way accepts more.
   * @defaultValue 12288 ({@link MAX_TOTAL_COOKIE_BYTES})
   */
  readonly maxTotalCookieBytes?: number
}

/** The engine options beyond the cookie options, validated. */
export interface CookieEngineOptions {
  /** See {@link CookieSizeOptions.overflow}. */
  readonly overflow: CookieOverflow
  /** See {@link CookieSizeOptions.maxTotalCookieBytes}. */
  readonly maxTotalCookieBytes: number
}

/** What a cookie factory keeps from its request: where the session came from. */
interface LoadedCookie {
  /** A valid cookie came with the request. */
  valid: boolean
  /** Last-activity time from the cookie. */
  lastActive: number
  /** The cookie was made with a key other than the current one. */
  staleKey: boolean
  /** The request sent the whole-value cookie `cookieName`. */
  readonly whole: boolean
  /** The chunk indexes the request sent (deleted when the next write does not reuse them). */
  readonly chunkIndexes: readonly number[]
}

/** The JSON body inside a cookie: user data (`d`) and library fields (`s`). */
interface CookieBody {
  d: Record<string, JsonValue>
  s?: Record<string, JsonValue>
}

const THROW_OVERFLOW: CookieEngineOptions = {
  overflow: 'throw',
  maxTotalCookieBytes: MAX_TOTAL_COOKIE_BYTES,
}
const NO_INDEXES: readonly number[] = []

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
    throw new ConfigError(
      'maxCookieBytes',
      'expected a whole number of bytes between 256 and 65536.',
    )
  }
  return value
}

/**
 * Validates `overflow` and `maxTotalCookieBytes`.
 *
 * @param options the size options as given
 * @returns the engine options
 * @throws {@link ConfigError} when `overflow` is not `'throw'` or `'split'`, or the budget is not
 *   a whole number of bytes between 1024 and 65536
 */
export function resolveCookieEngineOptions(options: CookieSizeOptions): CookieEngineOptions {
  const overflow = options.overflow ?? 'throw'
  if (overflow !== 'throw' && overflow !== 'split') {
    throw new ConfigError('overflow', "expected 'throw' or 'split'.")
  }
  const total = options.maxTotalCookieBytes ?? MAX_TOTAL_COOKIE_BYTES
  if (!Number.isInteger(total) || total < 1024 || total > 65_536) {
    throw new ConfigError(
      'maxTotalCookieBytes',
      'expected a whole number of bytes between 1024 and 65536.',
    )
  }
  return { overflow, maxTotalCookieBytes: total }
}

/**
 * The engine shared by the cookie factories: the session lives in the cookie itself, and `codec`
 * decides how it is protected (signed, encrypted, Pyramid's format).
 *
 * @param codec authenticates (and possibly encrypts) cookie values
 * @param options validated cookie options
 * @param maxCookieBytes the cap on a whole `Set-Cookie` header
 * @param engine what to do with sessions larger than one cookie
 * @returns the factory
 */
export function createCookieSessionFactory<Data extends object = DefaultSessionData>(
  codec: CookieCodec,
  options: ResolvedCookieOptions,
  maxCookieBytes: number,
  engine: CookieEngineOptions = THROW_OVERFLOW,
): SessionFactory<Data> {
  const { cookieName, now, serializer, timeoutMs, reissueMs, absoluteTimeoutMs } = options
  const { attributeString } = options
  const split = engine.overflow === 'split'
  const context: SessionContext = { serializer, now }
  const loaded = new WeakMap<Session<Data>, LoadedCookie>()
  const deletion = `${cookieName}=${EXPIRED_LIFETIME}${attributeString}`
  const chunkName = (index: number): string => `${cookieName}.${index}`
  const maxValueLength = split ? engine.maxTotalCookieBytes : maxCookieBytes

  const refuse = (reason: InvalidCookieReason): SessionInit => {
    options.onInvalidCookie?.(reason, { cookieName })
    return { created: now(), isNew: true }
  }

  const resolve = (value: string | undefined, state: LoadedCookie): SessionInit => {
    // Chunks that do not join (one missing, a bad count) are as malformed as a bad value.
    if (value === undefined || value.length > maxValueLength) return refuse('malformed')
    const decoded = codec.decode(value)
    if (!decoded.ok) return refuse(decoded.reason)
    const { created, lastActive, body } = decoded.payload
    const time = now()
    if (created > time + 60_000 || lastActive > time + 60_000 || lastActive < created) {
      return refuse('malformed')
    }
    if (timeoutMs !== null && time - lastActive > timeoutMs) return refuse('expired')
    if (absoluteTimeoutMs !== null && time - created > absoluteTimeoutMs) return refuse('expired')
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      return refuse('malformed')
    }
    if (
      !isRecord(parsed) ||
      !isRecord(parsed.d) ||
      (parsed.s !== undefined && !isRecord(parsed.s))
    ) {
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

  /** Deletions for the chunks the request sent whose index is `from` or more. */
  const staleChunks = (state: LoadedCookie | undefined, from: number): string[] => {
    const out: string[] = []
    for (const index of state?.chunkIndexes ?? NO_INDEXES) {
      if (index >= from) out.push(`${chunkName(index)}=${EXPIRED_LIFETIME}${attributeString}`)
    }
    return out
  }

  const write = (
    created: number,
    data: Record<string, JsonValue>,
    system: Record<string, JsonValue>,
    state: LoadedCookie | undefined,
  ): string[] => {
    const time = now()
    const body: CookieBody = { d: data }
    if (Object.keys(system).length > 0) body.s = system
    const value = codec.encode({ created, lastActive: time, body: JSON.stringify(body) })
    const tail = `${formatLifetime(options.maxAge, time)}${attributeString}`
    const header = `${cookieName}=${value}${tail}`
    const size = Buffer.byteLength(header)
    if (size <= maxCookieBytes) return [header, ...staleChunks(state, 0)]
    if (!split) throw new CookieTooLargeError(size, maxCookieBytes)
    // Codec values, names and attributes are ASCII: one character is one byte.
    const chunks = splitCookieValue(
      value,
      (index) => maxCookieBytes - `${chunkName(index)}=`.length - tail.length,
    )
    // In the Cookie header: `name.0=...; name.1=...`.
    const total =
      chunks === undefined
        ? value.length + MAX_COOKIE_CHUNKS * (cookieName.length + 6)
        : chunks.reduce(
            (sum, chunk, index) => sum + chunkName(index).length + 1 + chunk.length,
            0,
          ) +
          2 * (chunks.length - 1)
    if (chunks === undefined || total > engine.maxTotalCookieBytes) {
      throw new CookieTooLargeError(total, engine.maxTotalCookieBytes, { split: true })
    }
    const headers = chunks.map((chunk, index) => `${chunkName(index)}=${chunk}${tail}`)
    // The whole-value cookie of a smaller past session is deleted too.
    if (state?.whole === true) headers.push(deletion)
    headers.push(...staleChunks(state, chunks.length))
    return headers
  }

  return {
    cookieName,
    load(cookieHeader) {
      const incoming = readChunkedCookie(cookieHeader, cookieName, split ? MAX_COOKIE_CHUNKS : 0)
      const { value: whole, chunks } = incoming
      const chunkIndexes: number[] = []
      for (let index = 0; index < chunks.length; index++) {
        if (chunks[index] !== undefined) chunkIndexes.push(index)
      }
      if (whole === undefined && chunkIndexes.length === 0) {
        return new Session<Data>(() => ({ created: now(), isNew: true }), context)
      }
      const state: LoadedCookie = {
        valid: false,
        lastActive: 0,
        staleKey: false,
        whole: whole !== undefined,
        chunkIndexes,
      }
      // A whole-value cookie wins over chunks: a write always deletes the other form.
      const session = new Session<Data>(
        () => resolve(whole ?? joinCookieChunks(chunks), state),
        context,
      )
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
        const emptied =
          view.invalidated ||
          (hadSession &&
            (view.dataChanges() !== undefined || view.systemChanges() !== undefined || view.forced))
        return emptied ? [deletion, ...staleChunks(state, 0)] : []
      }
      const dirty =
        view.forced ||
        view.invalidated ||
        view.regenerated ||
        view.dataChanges() !== undefined ||
        view.systemChanges() !== undefined
      if (!dirty) {
        if (!hadSession) return []
        const reissueDue =
          reissueMs !== null && (reissueMs === 0 || now() - state.lastActive > reissueMs)
        if (!reissueDue && !state.staleKey) return []
      }
      return write(view.created, view.encodeData(), view.encodeSystem(), state)
    },
  }
}
