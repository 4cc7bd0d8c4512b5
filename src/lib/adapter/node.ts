import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { SessionFactory } from '../factory/session-factory.js'
import { applySessionCookies, statusForError, type HeaderCarrier } from '../http/carrier.js'
import type { DefaultSessionData, Session } from '../session/session.js'

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
   * @defaultValue `console.error`
   */
  readonly onError?: (error: unknown, req: IncomingMessage) => void
}

type HeaderMethod = 'writeHead' | 'write' | 'end' | 'flushHeaders'
const HEADER_METHODS: readonly HeaderMethod[] = ['writeHead', 'write', 'end', 'flushHeaders']

function headerCarrier(res: ServerResponse): HeaderCarrier {
  return {
    get: (name) => {
      const value = res.getHeader(name)
      return value === undefined ? undefined : Array.isArray(value) ? value.join(', ') : String(value)
    },
    set: (name, value) => res.setHeader(name, value),
    append: (name, value) => res.appendHeader(name, value),
  }
}

/** Moves headers given to `writeHead(status, [message], headers)` onto the response first. */
function takeWriteHeadHeaders(res: ServerResponse, args: unknown[]): unknown[] {
  const last = args[args.length - 1]
  if (args.length < 2 || typeof last !== 'object' || last === null) return args
  const pairs: [string, unknown][] = []
  if (Array.isArray(last)) {
    if (Array.isArray(last[0])) for (const [name, value] of last as [string, unknown][]) pairs.push([name, value])
    else for (let i = 0; i + 1 < last.length; i += 2) pairs.push([String(last[i]), last[i + 1]])
  } else {
    for (const [name, value] of Object.entries(last as OutgoingHttpHeaders)) pairs.push([name, value])
  }
  for (const [name, value] of pairs) {
    if (value === undefined) continue
    if (name.toLowerCase() === 'set-cookie') res.appendHeader(name, value as string | string[])
    else res.setHeader(name, value as string | number | string[])
  }
  return args.slice(0, -1)
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
 * (the session is saved only with `setOnException`); an unavailable store gives a 503.
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
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const onError = options.onError ?? ((error: unknown) => console.error(error))

  const sendError = (res: ServerResponse, status: 500 | 503): void => {
    if (res.headersSent) {
      res.destroy()
      return
    }
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
    res.end(status === 503 ? 'Service Unavailable' : 'Internal Server Error')
  }

  return async (req, res) => {
    let session: Session<Data>
    try {
      session = await factory.load(req.headers.cookie)
    } catch (error) {
      onError(error, req)
      sendError(res, statusForError(error))
      return
    }
    ;(req as SessionRequest<Data>).session = session

    const originals = new Map<HeaderMethod, (...args: unknown[]) => unknown>()
    let failed = false
    let aborted = false
    let queue: [HeaderMethod, unknown[]][] | undefined

    const restore = (): void => {
      for (const [name, method] of originals) (res as unknown as Record<string, unknown>)[name] = method
    }
    const call = (name: HeaderMethod, args: unknown[]): unknown => {
      const method = originals.get(name)!
      return method.apply(res, name === 'writeHead' ? takeWriteHeadHeaders(res, args) : args)
    }
    const fail = (error: unknown): void => {
      restore()
      aborted = true
      onError(error, req)
      sendError(res, statusForError(error))
    }

    for (const name of HEADER_METHODS) {
      const method = (res[name] as (...args: unknown[]) => unknown).bind(res)
      originals.set(name, method)
      ;(res as unknown as Record<string, unknown>)[name] = (...args: unknown[]): unknown => {
        if (aborted) return name === 'write' ? false : res
        if (queue !== undefined) {
          queue.push([name, args])
          return name === 'write' ? true : res
        }
        let committed: readonly string[] | Promise<readonly string[]>
        try {
          committed = factory.commit(session, { failed })
        } catch (error) {
          fail(error)
          return name === 'write' ? false : res
        }
        if (!(committed instanceof Promise)) {
          restore()
          if (name === 'writeHead') args = takeWriteHeadHeaders(res, args)
          applySessionCookies(headerCarrier(res), committed)
          return (originals.get(name)!).apply(res, args)
        }
        const pending: [HeaderMethod, unknown[]][] = [[name, args]]
        queue = pending
        committed.then(
          (cookies) => {
            restore()
            const first = pending[0]!
            if (first[0] === 'writeHead') first[1] = takeWriteHeadHeaders(res, first[1])
            applySessionCookies(headerCarrier(res), cookies)
            for (const [queuedName, queuedArgs] of pending) call(queuedName, queuedArgs)
          },
          (error: unknown) => fail(error),
        )
        return name === 'write' ? true : res
      }
    }

    try {
      await handler(req as SessionRequest<Data>, res)
    } catch (error) {
      onError(error, req)
      if (res.headersSent || queue !== undefined || aborted) {
        if (!res.writableEnded && queue === undefined && !aborted) res.destroy()
        return
      }
      failed = true
      for (const name of res.getHeaderNames()) res.removeHeader(name)
      res.statusCode = 500
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end('Internal Server Error')
    }
  }
}
