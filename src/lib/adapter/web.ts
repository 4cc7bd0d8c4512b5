import { commitOptions, type SessionFactory } from '../factory/session-factory.js'
import { statusForError } from '../http/carrier.js'
import { releaseBody, responseWithCookies } from '../http/web-headers.js'
import type { DefaultSessionData, Session } from '../session/session.js'
import { guardHook } from '../guard-hook.js'

/** Options of the Web adapter's {@link withSession}. */
export interface WebSessionOptions {
  /**
   * Told about every error the adapter turns into a 500 or 503 response: the handler's own, a
   * store outage, or a session that could not be saved.
   * An error it throws is emitted as a process warning (code `CLOAKROOM_HOOK_ERROR`); the
   * response is sent all the same.
   * @defaultValue `console.error`
   */
  readonly onError?: (error: unknown, request: Request) => void
}

/** A Web-standard handler that receives the request's session. */
export type WebSessionHandler<Data extends object> = (
  request: Request,
  session: Session<Data>,
) => Response | Promise<Response>

function errorResponse(status: 500 | 503): Response {
  return new Response(status === 503 ? 'Service Unavailable' : 'Internal Server Error', {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  })
}

/**
 * Wraps a Web-standard handler (`Request` → `Response`) so that it receives the request's session
 * and its response carries the session cookie. Works on any server that speaks `Request` and
 * `Response`: Bun, Deno, Cloudflare-style runtimes, or Node through a small bridge.
 *
 * @remarks
 * The session is committed after the handler returns and before the response is handed back, so
 * a server-side save finishes before the client sees the response. Changing the session after the
 * handler returned (for example while streaming the body) throws {@link SessionCommittedError}.
 * A thrown handler gives a 500 (the session is saved only with `setOnException`), an unavailable
 * store a 503. The response is copied to add the cookie (its headers may be immutable, or the
 * object shared between requests); one that cannot be copied (`Response.error()`, a WebSocket
 * upgrade) goes out without it, so change the session before upgrading.
 *
 * @param factory the session factory
 * @param handler the application's handler
 * @param options error reporting
 * @returns a handler without the session parameter
 *
 * @example
 * ```ts
 * const handle = withSession(factory, (request, session) => {
 *   session.set('visits', (session.get('visits') ?? 0) + 1)
 *   return new Response(`visit ${session.get('visits')}`)
 * })
 * Bun.serve({ fetch: handle })
 * ```
 */
export function withSession<Data extends object = DefaultSessionData>(
  factory: SessionFactory<Data>,
  handler: WebSessionHandler<Data>,
  options: WebSessionOptions = {},
): (request: Request) => Promise<Response> {
  // A reporter that throws must not leave the request unanswered (or crash a stream callback).
  const onError = guardHook(
    'onError',
    options.onError ?? ((error: unknown) => console.error(error)),
  )
  return async (request) => {
    let session: Session<Data>
    try {
      // Cookie factories load and commit synchronously: no await, no extra microtask turn.
      const loading = factory.load(request.headers.get('cookie'))
      session = loading instanceof Promise ? await loading : loading
    } catch (error) {
      onError(error, request)
      return errorResponse(statusForError(error))
    }
    let response: Response
    let failed = false
    try {
      response = await handler(request, session)
    } catch (error) {
      onError(error, request)
      failed = true
      response = errorResponse(500)
    }
    let cookies: readonly string[]
    try {
      const committing = factory.commit(session, commitOptions(failed))
      cookies = committing instanceof Promise ? await committing : committing
    } catch (error) {
      onError(error, request)
      // The handler's response is not sent: release its body (an upstream fetch, a file).
      releaseBody(response)
      return errorResponse(statusForError(error))
    }
    return cookies.length === 0 ? response : responseWithCookies(response, cookies)
  }
}
