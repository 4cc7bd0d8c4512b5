import type { IncomingMessage } from 'node:http'
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express'
import type { SessionFactory } from '../factory/session-factory.js'
import { interceptResponse, type ResponseInterceptor } from '../http/response-interceptor.js'
import type { DefaultSessionData, Session } from '../session/session.js'
import { guardHook } from '../guard-hook.js'
import { InterceptedCommit } from './intercepted-commit.js'

// Express's own extension point: its Request extends the global `Express.Request`. Augmenting
// `express-serve-static-core` instead would need that package resolvable from here, which a
// strict install (pnpm) does not give, and the session's type would silently be lost.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /**
       * The request's session, set by `session(factory)` from `cloakroom/express`. Type its data
       * once by augmenting `SessionData` from `cloakroom`.
       */
      session: Session<DefaultSessionData>
    }
  }
}

/** Options of the Express adapter's {@link session}. */
export interface ExpressSessionOptions {
  /**
   * Told about a session that could not be saved when the response was being sent (the adapter
   * then answers 500, or 503 when the store is unavailable). Errors while loading go to Express's
   * error handlers instead, through `next(error)`.
   * An error it throws is emitted as a process warning (code `CLOAKROOM_HOOK_ERROR`); the
   * response is sent all the same.
   * @defaultValue `console.error`
   */
  readonly onError?: (error: unknown, req: Request) => void
}

/** Where the interceptor rides on the request (a symbol: never clashes with app properties). */
const INTERCEPTOR = Symbol('cloakroom.interceptor')
type WithInterceptor = IncomingMessage & { [INTERCEPTOR]?: ResponseInterceptor }

/**
 * Express gives a middleware no sight of a later handler's error: a response of status 500 or
 * more counts as failed too, so an error answered by any error handler is caught even without
 * {@link sessionErrorHandler}.
 */
class ExpressCommit<Data extends object> extends InterceptedCommit<Data, Request> {
  readonly #res: Response

  constructor(
    factory: SessionFactory<Data>,
    session: Session<Data>,
    req: Request,
    res: Response,
    report: (error: unknown, req: Request) => void,
  ) {
    super(factory, session, req, report)
    this.#res = res
  }

  override commit(failed: boolean): readonly string[] | Promise<readonly string[]> {
    return super.commit(failed || this.#res.statusCode >= 500)
  }
}

/**
 * Express middleware (Express 4 and 5) that loads the request's session into `req.session` and
 * adds its cookie to the response.
 *
 * @remarks
 * The cookie is added at the first call that sends the headers (`res.send`, `res.json`,
 * `res.redirect`, `res.end`, `res.writeHead`, or the first `res.write` of a streamed body); a
 * server-side commit is awaited before the headers go out. Changing the session after that throws
 * {@link SessionCommittedError}. A session that cannot be loaded (store unavailable) is passed to
 * `next(error)`; the error's `statusCode` is 503. For the factory's `setOnException`, a response
 * with status 500 or more counts as an exception; register {@link sessionErrorHandler} after your
 * routes so that errors answered with another status (an error page of yours) count too. When a commit
 * fails the adapter answers 500 or 503 and drops what the handler still sends: stream with
 * `stream.pipeline(source, res, callback)`, which then destroys the source, not
 * `source.pipe(res)`, which leaves it open.
 *
 * @param factory the session factory
 * @param options error reporting
 * @returns the middleware
 *
 * @example
 * ```ts
 * app.use(session(factory))
 * app.get('/', (req, res) => {
 *   req.session.set('visits', Number(req.session.get('visits') ?? 0) + 1)
 *   res.send(`visit ${String(req.session.get('visits'))}`)
 * })
 * app.use(sessionErrorHandler())
 * ```
 */
export function session<Data extends object = DefaultSessionData>(
  factory: SessionFactory<Data>,
  options: ExpressSessionOptions = {},
): RequestHandler {
  // A reporter that throws must not leave the request unanswered (or crash a stream callback).
  const onError = guardHook(
    'onError',
    options.onError ?? ((error: unknown) => console.error(error)),
  )
  return (req, res, next) => {
    const attach = (loaded: Session<Data>): void => {
      req.session = loaded as unknown as Session<DefaultSessionData>
      const commit = new ExpressCommit(factory, loaded, req, res, onError)
      ;(req as WithInterceptor)[INTERCEPTOR] = interceptResponse(res, commit)
      next()
    }
    let loading: Session<Data> | Promise<Session<Data>>
    try {
      loading = factory.load(req.headers.cookie)
    } catch (error) {
      next(error)
      return
    }
    if (loading instanceof Promise) loading.then(attach, next)
    else attach(loading)
  }
}

/**
 * Express error-handling middleware that marks the request as failed, so the session is saved
 * only when the factory's `setOnException` is true, then passes the error on unchanged.
 *
 * @remarks
 * Express gives a middleware no way to see that a later handler failed: without this marker only
 * a response with status 500 or more counts as failed. Register it after your routes and before
 * your own error handlers, so an error answered with any status counts.
 *
 * @returns the error-handling middleware
 *
 * @example
 * ```ts
 * app.use(session(factory))
 * app.get('/', handler)
 * app.use(sessionErrorHandler())
 * app.use(myErrorPage)
 * ```
 */
export function sessionErrorHandler(): ErrorRequestHandler {
  return (error, req, _res, next) => {
    ;(req as WithInterceptor)[INTERCEPTOR]?.markFailed()
    next(error)
  }
}
