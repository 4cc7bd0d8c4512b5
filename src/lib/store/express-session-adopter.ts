import { createHmac, timingSafeEqual } from 'node:crypto'
import { ConfigError } from '../errors.js'
import { setMember } from '../session/serializer.js'
import type { ExpressSessionCallback, ExpressSessionStoreLike } from './express-session-store.js'
import type { AdoptedSession, SessionAdopter } from './session-adopter.js'

/** Options of {@link adoptExpressSessions}. */
export interface ExpressSessionAdopterOptions {
  /**
   * The express-session store that holds the sessions to take over (the same instance, or one
   * with the same settings, as the express-session middleware used).
   */
  readonly store: ExpressSessionStoreLike
  /**
   * express-session's `secret` option, as it was: one secret, or a list where every entry is
   * tried. Give this or `secrets`.
   * @defaultValue undefined
   */
  readonly secret?: string | readonly string[] | undefined
  /**
   * The same as `secret`, as a list. Give this or `secret`.
   * @defaultValue undefined
   */
  readonly secrets?: readonly string[] | undefined
  /**
   * express-session's `name` option: the name of its cookie.
   * @defaultValue `'connect.sid'`
   */
  readonly cookieName?: string
  /**
   * express-session's `cookie.path`, so the legacy cookie is deleted from the right path.
   * @defaultValue `'/'`
   */
  readonly cookiePath?: string
  /**
   * express-session's `cookie.domain`, if it set one.
   * @defaultValue undefined
   */
  readonly cookieDomain?: string | undefined
  /**
   * Picks the user a session belongs to from its data, so `listSessions` and `revokeSessions`
   * see adopted sessions (with Passport, the user id is in `data.passport.user`).
   * @defaultValue undefined (adopted sessions have no owner until `setOwner()`)
   */
  readonly ownerOf?: ((data: Readonly<Record<string, unknown>>) => string | undefined) | undefined
  /**
   * The clock, in milliseconds since the epoch: a session whose `cookie.expires` has passed is
   * refused even if the store still returns it.
   * @defaultValue `Date.now`
   */
  readonly now?: () => number
}

/** The length of an unpadded base64 HMAC-SHA256: 32 bytes in 43 characters. */
const SIGNATURE_LENGTH = 43
/** Cookies longer than this are refused unread; express-session's are about 80 characters. */
const MAX_COOKIE_LENGTH = 4096

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Calls one callback-style store method as a promise; promise-returning stores work too. */
function callStore(invoke: (callback: ExpressSessionCallback) => unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false
    const settle = (error: unknown, result?: unknown): void => {
      if (settled) return
      settled = true
      if (error === undefined || error === null) resolve(result)
      else reject(error instanceof Error ? error : new Error('The store failed.', { cause: error }))
    }
    try {
      const returned = invoke((error, result) => settle(error, result))
      if (isObject(returned) && typeof returned.then === 'function') {
        ;(returned as unknown as Promise<unknown>).then(undefined, (error: unknown) =>
          settle(error ?? new Error('The express-session store rejected.')),
        )
      }
    } catch (error) {
      settle(error ?? new Error('The express-session store threw.'))
    }
  })
}

/**
 * Takes over the sessions of express-session, so an application can move from express-session
 * to Cloakroom without logging its users out. Pass it as the `adopt` option of
 * `createStoreFactory`.
 *
 * @remarks
 * - Only a cookie express-session signed is adopted: `s:<sid>.<signature>`, whose signature is
 *   the HMAC-SHA256 of the sid under one of the configured secrets (checked in constant time).
 *   An unsigned, malformed or wrongly signed cookie is refused, so nobody can make a server adopt
 *   an id they chose. Nothing about a refused cookie ever throws.
 * - The record is read with the store's `get(sid)`. Its `cookie` field (express-session's own
 *   bookkeeping) is dropped; every other field (`passport`, `views`, ...) becomes session data.
 * - Once the session is saved under its new Cloakroom id, the legacy record is destroyed, so the
 *   old cookie cannot be replayed (nor bring back a session after a logout).
 * - The adopted session starts a fresh idle and absolute timeout: its `created` is the time it
 *   was adopted, not the time express-session created it.
 *
 * @param options the express-session store, secret(s) and cookie name
 * @returns an adopter for `createStoreFactory({ adopt })`
 * @throws {@link ConfigError} when the store lacks `get` or `destroy`, no secret is given, or an
 * option is invalid
 *
 * @example
 * ```ts
 * import { RedisStore } from 'connect-redis'
 * import { adoptExpressSessions, createStoreFactory, createMemoryStore } from 'cloakroom'
 * const legacy = new RedisStore({ client, prefix: 'sess:' })
 * const factory = createStoreFactory({
 *   store: createMemoryStore(),
 *   adopt: adoptExpressSessions({ store: legacy, secret: process.env.EXPRESS_SESSION_SECRET! }),
 * })
 * ```
 */
export function adoptExpressSessions(options: ExpressSessionAdopterOptions): SessionAdopter {
  const store = options?.store
  for (const method of ['get', 'destroy'] as const) {
    if (typeof store?.[method] !== 'function') {
      throw new ConfigError('store', `expected an express-session store with a ${method}() method.`)
    }
  }
  if (options.secret !== undefined && options.secrets !== undefined) {
    throw new ConfigError('secrets', 'give either secret or secrets, not both.')
  }
  const given = options.secrets ?? options.secret
  const list: readonly unknown[] = typeof given === 'string' ? [given] : (given ?? [])
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError(
      'secret',
      "expected express-session's secret: a string or a list of them.",
    )
  }
  const secrets = list.map((secret, index) => {
    if (typeof secret !== 'string' || secret === '') {
      throw new ConfigError(`secrets[${index}]`, 'expected a non-empty string.')
    }
    return secret
  })
  const cookieName = options.cookieName ?? 'connect.sid'
  if (typeof cookieName !== 'string' || cookieName === '') {
    throw new ConfigError('cookieName', 'expected the name of the express-session cookie.')
  }
  const ownerOf = options.ownerOf
  if (ownerOf !== undefined && typeof ownerOf !== 'function') {
    throw new ConfigError('ownerOf', 'expected a function.')
  }
  const now = options.now ?? Date.now
  if (typeof now !== 'function')
    throw new ConfigError('now', 'expected a function returning milliseconds.')

  /** The sid of an authentic `s:<sid>.<signature>` cookie, or undefined. */
  const verify = (value: string | undefined): string | undefined => {
    if (value === undefined || value.length > MAX_COOKIE_LENGTH || !value.startsWith('s:'))
      return undefined
    const dot = value.lastIndexOf('.')
    if (dot <= 2) return undefined
    const sid = value.slice(2, dot)
    const signature = Buffer.from(value.slice(dot + 1))
    if (signature.length !== SIGNATURE_LENGTH) return undefined
    let authentic = false
    for (const secret of secrets) {
      const expected = Buffer.from(
        createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, ''),
      )
      // Every secret is tried, so the time taken does not tell which one matched.
      if (expected.length === signature.length && timingSafeEqual(expected, signature))
        authentic = true
    }
    return authentic ? sid : undefined
  }

  const toAdopted = (record: unknown): AdoptedSession | undefined => {
    if (!isObject(record)) return undefined
    const cookie = record.cookie
    if (isObject(cookie) && cookie.expires !== undefined && cookie.expires !== null) {
      const expires = new Date(cookie.expires as string).getTime()
      if (Number.isNaN(expires) || expires <= now()) return undefined
    }
    const data: Record<string, unknown> = {}
    for (const key of Object.keys(record)) {
      if (key === 'cookie') continue
      // A key named `__proto__` stays data.
      setMember(data, key, record[key])
    }
    const owner = ownerOf?.(data)
    return typeof owner === 'string' && owner !== '' ? { data, owner } : { data }
  }

  return {
    cookieNames: [cookieName],
    cookiePath: options.cookiePath ?? '/',
    cookieDomain: options.cookieDomain,
    async load(cookies) {
      const sid = verify(cookies[cookieName])
      if (sid === undefined) return undefined
      return toAdopted(await callStore((callback) => store.get(sid, callback)))
    },
    async forget(cookies) {
      const sid = verify(cookies[cookieName])
      if (sid === undefined) return
      await callStore((callback) => store.destroy(sid, callback))
    },
  }
}
