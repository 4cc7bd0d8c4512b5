import type { CookieCodec, CookiePayload, InvalidCookieReason } from '../codec/cookie-codec.js'
import { ConfigError, CookieTooLargeError, SessionCommittedError } from '../errors.js'
import { EXPIRED_LIFETIME, formatLifetime, readChunkedCookie } from '../http/cookies.js'
import { decodeAll, type JsonValue } from '../session/serializer.js'
import {
  isCommitted,
  OWNER_FIELD,
  Session,
  sessionChanges,
  type DefaultSessionData,
  type SessionCommitView,
  type SessionContext,
  type SessionInit,
} from '../session/session.js'
import { joinCookieChunks, MAX_COOKIE_CHUNKS, splitCookieValue } from './cookie-chunks.js'
import {
  createCookieRevocation,
  MAX_REVOCABLE_LIFETIME_MS,
  MAX_REVOKED_PER_OWNER,
  type CookieIdentity,
  type CookieRevocation,
  type CookieRevocationOptions,
  type RevocableSessionFactory,
} from './cookie-revocation.js'
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
  /** The request sent the whole-value cookie `cookieName` (known once the session is used). */
  whole: boolean
  /** The chunk indexes the request sent (deleted when the next write does not reuse them). */
  chunkIndexes: readonly number[]
  /** With revocation: the id, owner and generation the valid cookie carried. */
  identity?: CookieIdentity | undefined
  /** With revocation: expired fields of the owner record, deleted with the next revocation. */
  stale: readonly string[]
  /** With revocation: the live revoked ids the owner record held at the check. */
  revokedCount: number
  /** With revocation: `revokeSessions(owner, { except })` moved this cookie to a new generation. */
  reissue: boolean
}

/** What a commit sends: nothing, the deletion of the cookie, or the session. */
type CommitAction = 'none' | 'delete' | 'write'

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
const NO_HEADERS: readonly string[] = []
/** The library field of a revocable cookie holding its session id (never part of the session). */
const SID_FIELD = 'sid'
/** The library field of a revocable owned cookie holding the owner's generation. */
const GENERATION_FIELD = 'gen'

function hasMembers(record: Record<string, JsonValue>): boolean {
  for (const _ in record) return true
  return false
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
 * @remarks
 * With `revocation`, every cookie also carries a random session id and, for an owned session, the
 * owner's generation (library fields inside the authenticated body). `load` then returns a promise
 * whenever a cookie comes with the request, and reads one record from the store to refuse revoked
 * cookies; the returned factory has `revokeSessions` (it is a {@link RevocableSessionFactory}).
 *
 * @param codec authenticates (and possibly encrypts) cookie values
 * @param options validated cookie options
 * @param maxCookieBytes the cap on a whole `Set-Cookie` header
 * @param engine what to do with sessions larger than one cookie
 * @param revocationOptions where revocations are recorded, to end sessions server-side
 * @returns the factory
 * @throws {@link ConfigError} when `revocationOptions` is invalid
 */
export function createCookieSessionFactory<Data extends object = DefaultSessionData>(
  codec: CookieCodec,
  options: ResolvedCookieOptions,
  maxCookieBytes: number,
  engine: CookieEngineOptions = THROW_OVERFLOW,
  revocationOptions?: CookieRevocationOptions,
): SessionFactory<Data> {
  const { cookieName, now, serializer, timeoutMs, reissueMs, absoluteTimeoutMs } = options
  const { attributeString } = options
  const split = engine.overflow === 'split'
  const reservedKey = codec.reservedKey?.bind(codec)
  const context: SessionContext = {
    serializer,
    now,
    ...(reservedKey === undefined ? {} : { reservedKey }),
  }
  const deletion = `${cookieName}=${EXPIRED_LIFETIME}${attributeString}`
  const chunkName = (index: number): string => `${cookieName}.${index}`
  const maxValueLength = split ? engine.maxTotalCookieBytes : maxCookieBytes
  /** The longest a session lives; with revocation, a null absolute timeout means 400 days. */
  const lifetimeMs = absoluteTimeoutMs ?? MAX_REVOCABLE_LIFETIME_MS
  const revocation =
    revocationOptions === undefined
      ? undefined
      : createCookieRevocation(revocationOptions, cookieName, now, lifetimeMs)

  const refuse = (reason: InvalidCookieReason): SessionInit => {
    options.onInvalidCookie?.(reason, { cookieName })
    return { created: now(), isNew: true }
  }

  // A verified body never changes meaning, and parsed bodies are never changed (the session
  // decodes into new objects): repeated requests with one cookie parse it once. The codecs
  // answer a value they verified before with the same payload object, so the parse is kept with
  // it, and lives as long as the codec's cache keeps the payload.
  const parsedBodies = new WeakMap<CookiePayload, CookieBody | null>()
  const parseBody = (payload: CookiePayload): CookieBody | undefined => {
    let parsed = parsedBodies.get(payload)
    if (parsed === undefined) {
      let json: unknown
      try {
        json = JSON.parse(payload.body)
      } catch {
        json = undefined
      }
      parsed =
        isRecord(json) && isRecord(json.d) && (json.s === undefined || isRecord(json.s))
          ? (json as unknown as CookieBody)
          : null
      parsedBodies.set(payload, parsed)
    }
    return parsed ?? undefined
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
    if (revocation !== undefined && time - created > lifetimeMs) return refuse('expired')
    const parsed = parseBody(decoded.payload)
    if (parsed === undefined) return refuse('malformed')
    // The built-in serializers decode into new objects, so they share the cached parse. A custom
    // serializer's decode may hand back parts of its input (an identity decode is easy to write):
    // it gets a parse of its own, so requests never share, change or freeze each other's values.
    const source = options.decodesLazily ? parsed : (JSON.parse(body) as CookieBody)
    let system = source.s
    if (revocation !== undefined) {
      const sid = system?.[SID_FIELD]
      const gen = system?.[GENERATION_FIELD]
      // The id and generation are written as they are; the owner, like every library field,
      // through the serializer: read it back the same way.
      const encodedOwner = system?.[OWNER_FIELD]
      let owner: unknown
      if (encodedOwner !== undefined) {
        try {
          owner = serializer.decode(encodedOwner)
        } catch {
          return refuse('malformed')
        }
        if (typeof owner !== 'string') return refuse('malformed')
      }
      // A cookie without an id (issued before revocation was on) could never be refused: refuse it.
      if (!revocation.isSid(sid)) return refuse('revoked')
      if (typeof owner === 'string' && !Number.isSafeInteger(gen)) return refuse('revoked')
      state.identity = {
        sid,
        owner: typeof owner === 'string' ? owner : undefined,
        gen: typeof owner === 'string' ? (gen as number) : undefined,
        created,
        holdsData: hasMembers(parsed.d),
      }
    }
    // The revocation fields belong to the cookie, not to the session (and are dropped at the
    // next write when revocation is off).
    if (system !== undefined && (SID_FIELD in system || GENERATION_FIELD in system)) {
      system = Object.fromEntries(
        Object.entries(system).filter(([key]) => key !== SID_FIELD && key !== GENERATION_FIELD),
      )
    }
    let init: SessionInit
    if (options.decodesLazily) {
      // Values stay encoded until read: a request decodes only what it uses.
      init = {
        encodedData: parsed.d,
        ...(system === undefined ? {} : { encodedSystem: system }),
        created,
        isNew: false,
      }
    } else {
      // A custom serializer may fail (a cookie written by an older version of it): decode all
      // now, so that failure gives a fresh session, not an error in the middle of the handler.
      try {
        init = {
          data: decodeAll(serializer, source.d),
          ...(system === undefined ? {} : { system: decodeAll(serializer, system) }),
          created,
          isNew: false,
        }
      } catch {
        return refuse('malformed')
      }
    }
    state.valid = true
    state.lastActive = lastActive
    state.staleKey = decoded.staleKey
    return init
  }

  const freshInit = (): SessionInit => ({ created: now(), isNew: true })

  /** Reads the session's cookie (or its chunks) from the request header into `state`. */
  const resolveHeader = (cookieHeader: string, state: LoadedCookie): SessionInit => {
    const { value: whole, chunks } = readChunkedCookie(
      cookieHeader,
      cookieName,
      split ? MAX_COOKIE_CHUNKS : 0,
    )
    const chunkIndexes: number[] = []
    for (let index = 0; index < chunks.length; index++) {
      if (chunks[index] !== undefined) chunkIndexes.push(index)
    }
    // Only a name that contains ours (`session_other=...`): no session came with the request.
    if (whole === undefined && chunkIndexes.length === 0) return freshInit()
    state.whole = whole !== undefined
    state.chunkIndexes = chunkIndexes
    // A whole-value cookie wins over chunks: a write always deletes the other form.
    return resolve(whole ?? joinCookieChunks(chunks), state)
  }

  /** Deletions for the chunks the request sent whose index is `from` or more. */
  const staleChunks = (state: LoadedCookie | undefined, from: number): readonly string[] => {
    if (state === undefined || state.chunkIndexes.length === 0) return NO_HEADERS
    const out: string[] = []
    for (const index of state.chunkIndexes) {
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
    if (hasMembers(system)) body.s = system
    const value = codec.encode({ created, lastActive: time, body: JSON.stringify(body) })
    const tail = `${formatLifetime(options.maxAge, time)}${attributeString}`
    const header = `${cookieName}=${value}${tail}`
    const size = Buffer.byteLength(header)
    if (size <= maxCookieBytes) {
      // Split or not, the session's part of the Cookie header stays within its budget (which
      // may be below maxCookieBytes), else the next request would refuse it.
      const sent = cookieName.length + 1 + value.length
      if (split && sent > engine.maxTotalCookieBytes) {
        throw new CookieTooLargeError(sent, engine.maxTotalCookieBytes, { split: true })
      }
      return [header, ...staleChunks(state, 0)]
    }
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

  /** Decides what the response carries for a session. */
  const plan = (view: SessionCommitView, state: LoadedCookie | undefined): CommitAction => {
    const hadSession = state?.valid === true
    if (view.isEmpty()) {
      // An invalidated or emptied session leaves no cookie behind.
      const emptied = view.invalidated || (hadSession && view.hasChanges())
      return emptied ? 'delete' : 'none'
    }
    const dirty = state?.reissue === true || view.hasChanges()
    if (!dirty) {
      if (!hadSession) return 'none'
      const reissueDue =
        reissueMs !== null && (reissueMs === 0 || now() - state.lastActive > reissueMs)
      if (!reissueDue && !state.staleKey) return 'none'
    }
    return 'write'
  }

  /**
   * Writes the session's cookie. A write that only re-issues an unchanged session (its time is
   * due, or it came under an older key) and no longer fits, because the current key's id is
   * longer, sends nothing instead of failing a request that changed nothing: the cookie the
   * browser holds stays valid while its key is configured and its timeouts allow.
   */
  const writeOrKeep = (
    view: SessionCommitView,
    state: LoadedCookie | undefined,
    build: () => readonly string[] | Promise<readonly string[]>,
  ): readonly string[] | Promise<readonly string[]> => {
    if (state?.reissue === true || view.hasChanges()) return build()
    const keep = (error: unknown): readonly string[] => {
      if (error instanceof CookieTooLargeError) return NO_HEADERS
      throw error
    }
    try {
      const built = build()
      return built instanceof Promise ? built.catch(keep) : built
    } catch (error) {
      return keep(error)
    }
  }

  /**
   * The cookie of a revocable session, with its id (a new one when `ends`) and its owner's
   * generation; a deletion when the owner's sessions were revoked since the request's check.
   */
  const revocableCookie = async (
    revocation: CookieRevocation,
    view: SessionCommitView,
    state: LoadedCookie | undefined,
    data: Record<string, JsonValue>,
    system: Record<string, JsonValue>,
    ends: boolean,
  ): Promise<readonly string[]> => {
    const identity = state?.valid === true ? state.identity : undefined
    const ownerField = view.readSystem(OWNER_FIELD)
    const owner = typeof ownerField === 'string' ? ownerField : undefined
    // A new id for an identity that was revoked after the request's check (a logout racing
    // this login or privilege change) would carry the ended session on: it ends here instead.
    if (ends && identity !== undefined && (await revocation.check(identity)).revoked) {
      return [deletion, ...staleChunks(state, 0)]
    }
    const keep = !ends && identity !== undefined
    system[SID_FIELD] = keep ? identity.sid : revocation.mintSid()
    if (owner !== undefined) {
      if (keep && identity.gen !== undefined) {
        system[GENERATION_FIELD] = identity.gen
      } else {
        const gen = await revocation.generation(owner, view.created)
        // The owner's session under a new id (regenerate): a revokeSessions(owner) that ran after
        // the cookie was checked ended it, and the new id must not escape that.
        if (identity?.owner === owner && identity.gen !== gen) {
          return [deletion, ...staleChunks(state, 0)]
        }
        system[GENERATION_FIELD] = gen
      }
    }
    return write(view.created, data, system, state)
  }

  /**
   * The commit of a revocable session: builds the cookie with its id and its owner's generation,
   * then revokes the id the request came with when the session ends or changes identity (awaited
   * before any cookie goes out, and skipped when building the cookie failed).
   */
  const commitRevocable = async (
    revocation: CookieRevocation,
    view: SessionCommitView,
    state: LoadedCookie | undefined,
    planned: CommitAction,
  ): Promise<readonly string[]> => {
    // Encode first: a value that cannot be stored fails the commit before the store is touched.
    const data = planned === 'write' ? view.encodeData() : undefined
    const system = planned === 'write' ? view.encodeSystem() : undefined
    const ownerField = view.readSystem(OWNER_FIELD)
    const owner = typeof ownerField === 'string' ? ownerField : undefined
    const identity = state?.valid === true ? state.identity : undefined
    // Logout, an emptied session, a new identity (regenerate, a new owner): the old id is dead.
    const ends =
      identity !== undefined &&
      (planned === 'delete' || view.invalidated || view.regenerated || identity.owner !== owner)
    const action = ends && planned === 'none' ? 'delete' : planned
    if (action === 'none') return []
    let headers: readonly string[] = [deletion, ...staleChunks(state, 0)]
    if (action === 'write' && data !== undefined && system !== undefined) {
      const build = () => revocableCookie(revocation, view, state, data, system, ends)
      // A new identity must be written: only a mere re-issue may keep the old cookie instead.
      headers = await (ends ? build() : writeOrKeep(view, state, build))
    }
    // Only once the cookie is built: a commit that fails (a session too large) ends nothing.
    if (!ends) return headers
    if (identity.owner === undefined || (state?.revokedCount ?? 0) < MAX_REVOKED_PER_OWNER) {
      await revocation.revoke(identity, state?.stale ?? [])
      return headers
    }
    // The owner record holds as many revoked ids as it may (it is read on every request): end
    // all of the owner's sessions with a new generation instead of recording one more. A session
    // that goes on for the same owner (a regenerate) is issued under the new generation.
    const continues =
      data !== undefined &&
      system?.[GENERATION_FIELD] !== undefined &&
      owner === identity.owner &&
      headers[0] !== deletion
    const bumped = await revocation.bump(identity.owner, continues ? identity : undefined)
    // Not kept (revoked meanwhile, or another bump overtook this one): the cookie built under the
    // old generation is refused at its next request.
    if (continues && bumped?.kept === true) {
      system[GENERATION_FIELD] = bumped.gen
      headers = write(view.created, data, system, state)
    }
    return headers
  }

  const factory: SessionFactory<Data> = {
    cookieName,
    load(cookieHeader) {
      // Most requests without the cookie are told apart without parsing anything.
      if (cookieHeader == null || !cookieHeader.includes(cookieName)) {
        return new Session<Data>(freshInit, context)
      }
      const state: LoadedCookie = {
        valid: false,
        lastActive: 0,
        staleKey: false,
        whole: false,
        chunkIndexes: NO_INDEXES,
        stale: [],
        revokedCount: 0,
        reissue: false,
      }
      if (revocation === undefined) {
        // Parsed on first use: a handler that never touches the session costs no parsing.
        return new Session<Data>(() => resolveHeader(cookieHeader, state), context, state)
      }
      const init = resolveHeader(cookieHeader, state)
      // With revocation the cookie is checked before the handler runs: one store read.
      const sessionOf = (sessionInit: SessionInit): Session<Data> => {
        return new Session<Data>(sessionInit, context, state)
      }
      const identity = state.identity
      if (!state.valid || identity === undefined) return sessionOf(init)
      return revocation.check(identity).then((checked) => {
        if (!checked.revoked) {
          state.stale = checked.stale
          state.revokedCount = checked.revokedCount
          return sessionOf(init)
        }
        state.valid = false
        state.identity = undefined
        return sessionOf(refuse('revoked'))
      })
    },
    commit(session, commitOptions?: CommitOptions) {
      const view = sessionChanges(session)
      view.lock()
      const state = view.factoryState as LoadedCookie | undefined
      // A session re-issued by `revokeSessions(..., { except })` is written even if unused.
      if (!view.accessed && state?.reissue !== true) return []
      if (commitOptions?.failed === true && !options.setOnException) return []
      const action = plan(view, state)
      // Nothing to send and no identity change (the owner field is unchanged): no store call.
      if (action === 'none' && !view.invalidated && !view.regenerated) return []
      if (revocation !== undefined) return commitRevocable(revocation, view, state, action)
      switch (action) {
        case 'none':
          return []
        case 'delete':
          return [deletion, ...staleChunks(state, 0)]
        case 'write':
          return writeOrKeep(view, state, () =>
            write(view.created, view.encodeData(), view.encodeSystem(), state),
          )
      }
    },
  }
  if (revocation === undefined) return factory

  const revocable: RevocableSessionFactory<Data> = {
    ...factory,
    async revokeSessions(owner, revokeOptions) {
      const except = revokeOptions?.except
      if (except !== undefined && isCommitted(except)) {
        throw new SessionCommittedError('revokeSessions')
      }
      const state =
        except === undefined
          ? undefined
          : (sessionChanges(except).factoryState as LoadedCookie | undefined)
      const keep =
        state?.valid === true && state.identity?.owner === owner ? state.identity : undefined
      const bumped = await revocation.bump(owner, keep)
      // A kept session revoked before the bump (a logout, another "log out everywhere") stays
      // ended: its cookie, of the old generation, is refused at its next request.
      if (bumped?.kept !== true || keep === undefined || state === undefined) return
      state.identity = { ...keep, gen: bumped.gen }
      state.reissue = true
    },
  }
  return revocable
}
