import type { Context, MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { commitOptions, type SessionFactory } from '../factory/session-factory.js'
import { statusForError } from '../http/carrier.js'
import { releaseBody, responseWithCookies } from '../http/web-headers.js'
import type { DefaultSessionData, Session } from '../session/session.js'

declare module 'hono' {
  interface ContextVariableMap {
    /**
     * The request's session, set by `session(factory)` from `cloakroom/hono`. Type its data once
     * by augmenting `SessionData` from `cloakroom`.
     */
    session: Session<DefaultSessionData>
  }
}

function unavailable(error: unknown): HTTPException {
  const status = statusForError(error)
  const message = status === 503 ? 'Service Unavailable' : 'Internal Server Error'
  // No cache may keep the error, as the Web adapter's error responses say too.
  const res = new Response(message, { status, headers: { 'cache-control': 'no-store' } })
  return new HTTPException(status, { message, cause: error, res })
}

/**
 * Adds the cookies to a copy of `c.res`: the handler's response may be one object shared by
 * every request (a module-level constant), which must not collect each user's cookie, and its
 * headers may be immutable (`Response.redirect()`, `fetch()`).
 */
function addCookies(c: Context, cookies: readonly string[]): void {
  const response = c.res
  const copy = responseWithCookies(response, cookies)
  if (copy === response) return
  // Clear first: assigning over a response would merge the old headers back in.
  c.res = undefined
  c.res = copy
}

/**
 * Drops the handler's response before an error is thrown, so that Hono's error response does
 * not inherit its headers (its caching, length or cookies), and releases its body.
 */
function discardResponse(c: Context): void {
  if (!c.finalized) return
  releaseBody(c.res)
  c.res = undefined
}

/**
 * Hono middleware (Hono 4, on Node through `@hono/node-server` and on any Web runtime) that puts
 * the request's session in `c.get('session')` and adds its cookie to the response.
 *
 * @remarks
 * The session is committed after the downstream handlers return and before the response is
 * handed back, so a server-side save finishes first. Changing the session after that (for
 * example while a streamed body is being sent) throws {@link SessionCommittedError}. A handler
 * error caught by Hono's `onError` (seen as `c.error`) counts as an exception for the factory's
 * `setOnException`. A store outage, at load or commit, is thrown as an `HTTPException` with
 * status 503 (the store's error is its `cause`); other commit errors as a 500. Either carries
 * `Cache-Control: no-store`, and a commit error replaces the handler's response (its body is
 * released; headers set with `c.header()` before it was built are kept by Hono's error handler).
 * The cookie goes on a copy of the handler's response, never on the object it returned, which
 * may be shared between requests. Middleware registered before this one runs its code after
 * `next()` once the session is committed: register this one first when such middleware sets
 * caching headers, which would replace the session's `Vary` and `Cache-Control`.
 *
 * @param factory the session factory
 * @returns the middleware
 *
 * @example
 * ```ts
 * const app = new Hono()
 * app.use(session(factory))
 * app.get('/', (c) => {
 *   const visits = Number(c.get('session').get('visits') ?? 0) + 1
 *   c.get('session').set('visits', visits)
 *   return c.text(`visit ${visits}`)
 * })
 * ```
 */
export function session<Data extends object = DefaultSessionData>(
  factory: SessionFactory<Data>,
): MiddlewareHandler {
  return async (c, next) => {
    let loaded: Session<Data>
    try {
      // Cookie factories load and commit synchronously: no await, no extra microtask turn.
      const loading = factory.load(c.req.header('cookie'))
      loaded = loading instanceof Promise ? await loading : loading
    } catch (error) {
      throw unavailable(error)
    }
    c.set('session', loaded as unknown as Session<DefaultSessionData>)
    await next()
    let cookies: readonly string[]
    try {
      const committing = factory.commit(loaded, commitOptions(c.error !== undefined))
      cookies = committing instanceof Promise ? await committing : committing
    } catch (error) {
      discardResponse(c)
      throw unavailable(error)
    }
    if (cookies.length > 0) addCookies(c, cookies)
  }
}
