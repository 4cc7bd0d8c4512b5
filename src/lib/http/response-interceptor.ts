import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { applySessionCookies, type HeaderCarrier } from './carrier.js'

/** The `ServerResponse` methods that send the headers. */
type HeaderMethod = 'writeHead' | 'write' | 'end' | 'flushHeaders'
const HEADER_METHODS: readonly HeaderMethod[] = ['writeHead', 'write', 'end', 'flushHeaders']

type Method = (...args: unknown[]) => unknown

/** What {@link interceptResponse} needs from its adapter. */
export interface ResponseInterceptorOptions {
  /**
   * Commits the session; called once, at the first call that sends the headers.
   *
   * @param failed whether the request was marked failed with {@link ResponseInterceptor.markFailed}
   * @returns the `Set-Cookie` values, or a promise of them (awaited before the headers go out)
   */
  readonly commit: (failed: boolean) => readonly string[] | Promise<readonly string[]>
  /**
   * Told about a failed commit; the interceptor then answers 500 or 503 itself.
   *
   * @param error what the commit threw
   * @returns the status to answer with
   */
  readonly onCommitError: (error: unknown) => 500 | 503
}

/** The handle {@link interceptResponse} returns. */
export interface ResponseInterceptor {
  /** The commit has begun: the session is locked and the headers are on their way. */
  readonly started: boolean
  /** The commit failed and an error response replaced the application's. */
  readonly aborted: boolean
  /** Commits with `failed: true` (the response reports a thrown error). */
  markFailed(): void
  /**
   * The application failed after the response had started: destroys the response unless it is
   * complete (once a pending commit has let it through), so the client never waits forever.
   */
  abandon(): void
}

/**
 * Adapts a `ServerResponse` to the {@link HeaderCarrier} seam.
 *
 * @param res the response
 * @returns its header carrier
 */
export function nodeHeaderCarrier(res: ServerResponse): HeaderCarrier {
  return {
    get: (name) => {
      const value = res.getHeader(name)
      return value === undefined
        ? undefined
        : Array.isArray(value)
          ? value.join(', ')
          : String(value)
    },
    set: (name, value) => res.setHeader(name, value),
    append: (name, value) => res.appendHeader(name, value),
  }
}

/**
 * Answers a plain-text 500 or 503 on a response whose headers are not sent yet (every header the
 * application set is dropped), or destroys it when they are.
 *
 * @param res the response
 * @param status the status to answer with
 */
export function sendErrorResponse(res: ServerResponse, status: 500 | 503): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name)
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  })
  res.end(status === 503 ? 'Service Unavailable' : 'Internal Server Error')
}

/** Moves headers given to `writeHead(status, [message], headers)` onto the response first. */
function takeWriteHeadHeaders(res: ServerResponse, args: unknown[]): unknown[] {
  const last = args[args.length - 1]
  if (args.length < 2 || typeof last !== 'object' || last === null) return args
  const pairs: [string, unknown][] = []
  if (Array.isArray(last)) {
    if (Array.isArray(last[0])) {
      for (const [name, value] of last as [string, unknown][]) pairs.push([name, value])
    } else {
      for (let i = 0; i + 1 < last.length; i += 2) pairs.push([String(last[i]), last[i + 1]])
    }
  } else {
    for (const [name, value] of Object.entries(last as OutgoingHttpHeaders))
      pairs.push([name, value])
  }
  for (const [name, value] of pairs) {
    if (value === undefined) continue
    if (name.toLowerCase() === 'set-cookie') res.appendHeader(name, value as string | string[])
    else res.setHeader(name, value as string | number | string[])
  }
  return args.slice(0, -1)
}

/**
 * Holds back the headers of a `node:http` response until the session is committed: the first
 * call to `writeHead`, `write`, `end` or `flushHeaders` runs the commit and adds its cookies,
 * whichever the application (or its framework) uses.
 *
 * @remarks
 * A synchronous commit adds the cookies and lets the call through at once. An asynchronous one
 * (server-side stores) is awaited before anything is written: calls made meanwhile are queued in
 * order and replayed. A failed commit replaces the response with a 500 (503 for an unavailable
 * store). Once committed, the wrappers pass calls straight through, so middleware that wrapped
 * the same methods later keeps working; they are removed when they are still outermost.
 *
 * @param res the response to hold back
 * @param options the commit and its error reporting
 * @returns a handle to mark the request failed and to ask where the commit stands
 */
export function interceptResponse(
  res: ServerResponse,
  options: ResponseInterceptorOptions,
): ResponseInterceptor {
  const target = res as unknown as Record<HeaderMethod, Method>
  const originals = new Map<HeaderMethod, Method>()
  const wrappers = new Map<HeaderMethod, Method>()
  const ownBefore = new Set<HeaderMethod>()
  let state: 'waiting' | 'committing' | 'done' | 'aborted' = 'waiting'
  let failed = false
  let abandoned = false
  const queue: [HeaderMethod, unknown[]][] = []

  const restore = (): void => {
    for (const name of HEADER_METHODS) {
      if (target[name] !== wrappers.get(name)) continue
      if (ownBefore.has(name)) target[name] = originals.get(name)!
      else delete (target as Partial<Record<HeaderMethod, Method>>)[name]
    }
  }
  const call = (name: HeaderMethod, args: unknown[]): unknown =>
    originals.get(name)!.apply(res, args)
  const abort = (error: unknown): void => {
    state = 'aborted'
    restore()
    sendErrorResponse(res, options.onCommitError(error))
  }
  const flush = (cookies: readonly string[], pending: [HeaderMethod, unknown[]][]): void => {
    state = 'done'
    restore()
    const first = pending[0]!
    if (first[0] === 'writeHead') first[1] = takeWriteHeadHeaders(res, first[1])
    applySessionCookies(nodeHeaderCarrier(res), cookies)
  }
  const blocked = (name: HeaderMethod): unknown => (name === 'write' ? true : res)

  for (const name of HEADER_METHODS) {
    if (Object.hasOwn(res, name)) ownBefore.add(name)
    originals.set(name, target[name])
    const wrapper = (...args: unknown[]): unknown => {
      switch (state) {
        case 'done':
          return call(name, args)
        case 'aborted':
          return name === 'write' ? false : res
        case 'committing':
          queue.push([name, args])
          return blocked(name)
        case 'waiting':
          break
      }
      let committed: readonly string[] | Promise<readonly string[]>
      try {
        committed = options.commit(failed)
      } catch (error) {
        abort(error)
        return name === 'write' ? false : res
      }
      if (!(committed instanceof Promise)) {
        const pending: [HeaderMethod, unknown[]][] = [[name, args]]
        flush(committed, pending)
        return call(name, pending[0]![1])
      }
      state = 'committing'
      queue.push([name, args])
      committed.then(
        (cookies) => {
          flush(cookies, queue)
          for (const [queuedName, queuedArgs] of queue.splice(0)) call(queuedName, queuedArgs)
          if (abandoned && !res.writableEnded) res.destroy()
        },
        (error: unknown) => abort(error),
      )
      return blocked(name)
    }
    wrappers.set(name, wrapper)
    target[name] = wrapper
  }

  return {
    get started() {
      return state !== 'waiting'
    },
    get aborted() {
      return state === 'aborted'
    },
    markFailed() {
      failed = true
    },
    abandon() {
      abandoned = true
      if (state === 'done' && !res.writableEnded) res.destroy()
    },
  }
}
