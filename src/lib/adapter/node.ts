import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SessionFactory } from '../factory/session-factory.js'
import { statusForError } from '../http/carrier.js'
import {
  interceptResponse,
  sendErrorResponse,
  type ResponseInterceptor,
} from '../http/response-interceptor.js'
import type { DefaultSessionData, Session } from '../session/session.js'
import { InterceptedCommit } from './intercepted-commit.js'
import { guardHook } from '../guard-hook.js'

/** A `node:http` request that carries its session. */
export type SessionRequest<Data extends object = DefaultSessionData> = IncomingMessage & {
  /** The request's session. */
  session: Session<Data>
}

/** A `node:http` handler that receives the request's session as `req.session`. */
export type NodeSessionHandler<Data extends object> = (
  req: SessionRequest<Data>,
  res: ServerResponse,
) => void | Promise<void>

/** Options of the `node:http` adapter's {@link withSession}. */
export interface NodeSessionOptions {
  /**
   * Told about every error the adapter turns into a 500 or 503 response: the handler's own, a
   * store outage, or a session that could not be saved.
   * An error it throws is emitted as a process warning (code `CLOAKROOM_HOOK_ERROR`); the
   * response is sent all the same.
   * @defaultValue `console.error`
   */
  readonly onError?: (error: unknown, req: IncomingMessage) => void
}

/**
 * Wraps a `node:http` handler so that `req.session` holds the request's session and the session
 * cookie is added before the headers are written, whether the handler calls `res.end`,
 * `res.writeHead`, `res.write` (streaming) or `res.flushHeaders`.
 *
 * @remarks
 * The commit runs at the first of those calls. For server-side factories it is awaited before
 * the headers go out (calls made meanwhile are queued in order), so a redirect followed at once
 * sees the saved data. Changing the session after that point throws
 * {@link SessionCommittedError}. A thrown or rejected handler gives a 500 if nothing was sent yet
 * (the session is saved only with `setOnException`); an unavailable store gives a 503. When a
 * commit fails the adapter answers instead and drops what the handler still sends: stream with
 * `stream.pipeline(source, res, callback)`, which then destroys the source, not `source.pipe(res)`,
 * which leaves it open.
 *
 * @param factory the session factory
 * @param handler the application's handler
 * @param options error reporting
 * @returns a `node:http` request listener
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * createServer(withSession(factory, (req, res) => {
 *   req.session.set('seen', true)
 *   res.end('hello')
 * })).listen(3000)
 * ```
 */
export function withSession<Data extends object = DefaultSessionData>(
  factory: SessionFactory<Data>,
  handler: NodeSessionHandler<Data>,
  options: NodeSessionOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  // A reporter that throws must not leave the request unanswered (or crash a stream callback).
  const onError = guardHook(
    'onError',
    options.onError ?? ((error: unknown) => console.error(error)),
  )

  const loadFailed = (error: unknown, req: IncomingMessage, res: ServerResponse): void => {
    onError(error, req)
    sendErrorResponse(res, statusForError(error))
  }

  /** Answers a handler that threw or rejected. */
  const handlerFailed = (
    error: unknown,
    interceptor: ResponseInterceptor,
    req: IncomingMessage,
    res: ServerResponse,
  ): void => {
    if (interceptor.aborted) {
      // The commit failed, and was reported and answered: report only a different error.
      if (error !== interceptor.commitError) onError(error, req)
      sendErrorResponse(res, statusForError(interceptor.commitError))
      return
    }
    onError(error, req)
    if (interceptor.started) {
      // The response is already on its way: it cannot become a 500 any more.
      interceptor.abandon()
      return
    }
    interceptor.markFailed()
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    res.statusCode = 500
    res.setHeader('content-type', 'text/plain; charset=utf-8')
    res.setHeader('content-length', '21')
    res.end('Internal Server Error')
  }

  /** Runs the handler; synchronous loads and handlers allocate no promise at all. */
  const serve = (session: Session<Data>, req: IncomingMessage, res: ServerResponse): void => {
    ;(req as SessionRequest<Data>).session = session
    const interceptor = interceptResponse(
      res,
      new InterceptedCommit(factory, session, req, onError),
    )
    let result: void | Promise<void>
    try {
      result = handler(req as SessionRequest<Data>, res)
    } catch (error) {
      handlerFailed(error, interceptor, req, res)
      return
    }
    if (result instanceof Promise) {
      result.then(
        () => answerAbortedCommit(interceptor, res),
        (error: unknown) => handlerFailed(error, interceptor, req, res),
      )
    } else {
      answerAbortedCommit(interceptor, res)
    }
  }

  // A request listener returns nothing: every failure is answered above; a throwing onError hook
  // must not take the process down, so the response is cut off instead.
  const guard = (run: () => void, res: ServerResponse): void => {
    try {
      run()
    } catch {
      res.destroy()
    }
  }
  return (req, res) => {
    let loading: Session<Data> | Promise<Session<Data>>
    try {
      loading = factory.load(req.headers.cookie)
    } catch (error) {
      guard(() => loadFailed(error, req, res), res)
      return
    }
    if (loading instanceof Promise) {
      loading.then(
        (session) => guard(() => serve(session, req, res), res),
        (error: unknown) => guard(() => loadFailed(error, req, res), res),
      )
    } else {
      try {
        serve(loading, req, res)
      } catch {
        res.destroy()
      }
    }
  }
}

/** The session could not be saved and the handler swallowed the error: answers for it. */
function answerAbortedCommit(interceptor: ResponseInterceptor, res: ServerResponse): void {
  if (interceptor.aborted && !res.headersSent) {
    sendErrorResponse(res, statusForError(interceptor.commitError))
  }
}
