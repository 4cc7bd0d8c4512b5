import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { applySessionCookies, headerText, type HeaderCarrier } from './carrier.js'

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
  /**
   * The commit never returns a promise (the factory's `synchronousCommit`). Then only
   * `writeHead` is wrapped: `end`, `write` and `flushHeaders` all send the headers through it, and
   * there is nothing to queue.
   */
  readonly synchronous?: boolean
}

/** The handle {@link interceptResponse} returns. */
export interface ResponseInterceptor {
  /** The commit has begun: the session is locked and the headers are on their way. */
  readonly started: boolean
  /** The commit failed and an error response replaced the application's. */
  readonly aborted: boolean
  /**
   * What the commit threw, if it failed. With a synchronous commit it is also thrown from the
   * call that sent the headers (`res.end()`, `res.writeHead()`...), so the handler or framework
   * sees a typed error at the call site and can answer with an error response.
   */
  readonly commitError: unknown
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
  return new NodeHeaderCarrier(res)
}

class NodeHeaderCarrier implements HeaderCarrier {
  readonly #res: ServerResponse

  constructor(res: ServerResponse) {
    this.#res = res
  }

  get(name: string): string | undefined {
    return headerText(this.#res.getHeader(name))
  }

  set(name: string, value: string): void {
    this.#res.setHeader(name, value)
  }

  append(name: string, value: string): void {
    // appendHeader validates the value twice when the header is new (it calls setHeader).
    if (this.#res.hasHeader(name)) this.#res.appendHeader(name, value)
    else this.#res.setHeader(name, value)
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
  const body = status === 503 ? 'Service Unavailable' : 'Internal Server Error'
  // An explicit length: an end() that failed earlier may have left its own behind.
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': String(body.length),
  })
  res.end(body)
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
 * A synchronous commit adds the cookies and lets the call through at once; for factories that
 * promise one (`synchronous`), only `writeHead` is wrapped, since node:http sends every implicit
 * header through it. An asynchronous commit (server-side stores) is awaited before anything is
 * written: calls made meanwhile are queued in order and replayed. A failed commit replaces the
 * response with a 500 (503 for an unavailable store). Once committed, each wrapper that is still
 * outermost is replaced by the original method (by assignment: deleting properties would slow
 * every later access to the response); a wrapper that later middleware wrapped again stays and
 * passes calls straight through.
 *
 * @param res the response to hold back
 * @param options the commit and its error reporting
 * @returns a handle to mark the request failed and to ask where the commit stands
 */
export function interceptResponse(
  res: ServerResponse,
  options: ResponseInterceptorOptions,
): ResponseInterceptor {
  const interception = new Interception(res, options)
  if (options.synchronous === true) interception.wrapWriteHead()
  else interception.wrapAll()
  return interception
}

type State = 'waiting' | 'committing' | 'done' | 'aborted'

/** One response's interception; a class, so a request allocates as little as possible. */
class Interception implements ResponseInterceptor {
  readonly #res: ServerResponse
  readonly #options: ResponseInterceptorOptions
  #state: State = 'waiting'
  #failed = false
  #abandoned = false
  #queue: [HeaderMethod, unknown[]][] | undefined
  #commitError: unknown
  /** Original and wrapper of each wrapped method, by name. */
  readonly #wrapped: { name: HeaderMethod; original: Method; wrapper: Method }[] = []

  constructor(res: ServerResponse, options: ResponseInterceptorOptions) {
    this.#res = res
    this.#options = options
  }

  get started(): boolean {
    return this.#state !== 'waiting'
  }

  get aborted(): boolean {
    return this.#state === 'aborted'
  }

  get commitError(): unknown {
    return this.#commitError
  }

  markFailed(): void {
    this.#failed = true
  }

  abandon(): void {
    this.#abandoned = true
    if (this.#state === 'done' && !this.#res.writableEnded) this.#res.destroy()
  }

  wrapWriteHead(): void {
    const target = this.#res as unknown as Record<HeaderMethod, Method>
    const original = target.writeHead
    const wrapper = (...args: unknown[]): unknown => {
      if (this.#state === 'done') return original.apply(this.#res, args)
      if (this.#state === 'aborted') return this.#res
      let committed: readonly string[] | Promise<readonly string[]>
      try {
        committed = this.#options.commit(this.#failed)
        if (committed instanceof Promise) {
          // A factory that promised a synchronous commit broke it: fail loudly, never send
          // the response without its cookie.
          committed.catch(() => {})
          throw new TypeError(
            'The session factory promised a synchronous commit but returned a promise.',
          )
        }
      } catch (error) {
        // Inside end() or write(), nothing can stop the body that follows: throw instead, so the
        // caller answers with an error response (the methods are restored, and pass through).
        this.#state = 'aborted'
        this.#commitError = error
        this.#restore()
        this.#options.onCommitError(error)
        throw error
      }
      this.#state = 'done'
      this.#restore()
      if (committed.length === 0) return original.apply(this.#res, args)
      const rest = takeWriteHeadHeaders(this.#res, args)
      applySessionCookies(nodeHeaderCarrier(this.#res), committed)
      return original.apply(this.#res, rest)
    }
    this.#wrapped.push({ name: 'writeHead', original, wrapper })
    target.writeHead = wrapper
  }

  wrapAll(): void {
    const target = this.#res as unknown as Record<HeaderMethod, Method>
    for (const name of HEADER_METHODS) {
      const original = target[name]
      const wrapper = (...args: unknown[]): unknown => this.#intercept(name, original, args)
      this.#wrapped.push({ name, original, wrapper })
      target[name] = wrapper
    }
  }

  #call(name: HeaderMethod, args: unknown[]): unknown {
    const entry = this.#wrapped.find((wrapped) => wrapped.name === name)!
    return entry.original.apply(this.#res, args)
  }

  #intercept(name: HeaderMethod, original: Method, args: unknown[]): unknown {
    switch (this.#state) {
      case 'done':
        return original.apply(this.#res, args)
      case 'aborted':
        return name === 'write' ? false : this.#res
      case 'committing':
        this.#queue!.push([name, args])
        return name === 'write' ? true : this.#res
      case 'waiting':
        break
    }
    let committed: readonly string[] | Promise<readonly string[]>
    try {
      committed = this.#options.commit(this.#failed)
    } catch (error) {
      this.#abort(error)
      return name === 'write' ? false : this.#res
    }
    if (!(committed instanceof Promise)) {
      this.#flush(committed, name, args)
      return original.apply(this.#res, args)
    }
    this.#state = 'committing'
    const queue: [HeaderMethod, unknown[]][] = [[name, args]]
    this.#queue = queue
    committed.then(
      (cookies) => {
        const first = queue[0]!
        this.#flush(cookies, first[0], first[1])
        for (const [queuedName, queuedArgs] of queue.splice(0)) this.#call(queuedName, queuedArgs)
        if (this.#abandoned && !this.#res.writableEnded) this.#res.destroy()
      },
      (error: unknown) => this.#abort(error),
    )
    return name === 'write' ? true : this.#res
  }

  /** Marks the commit done, restores the methods, and adds the cookies. */
  #flush(cookies: readonly string[], name: HeaderMethod, args: unknown[]): void {
    this.#state = 'done'
    this.#restore()
    // Headers passed to writeHead must be on the response before Cache-Control is decided.
    if (name === 'writeHead') {
      const rest = takeWriteHeadHeaders(this.#res, args)
      args.length = 0
      args.push(...rest)
    }
    if (cookies.length > 0) applySessionCookies(nodeHeaderCarrier(this.#res), cookies)
  }

  #abort(error: unknown): void {
    this.#state = 'aborted'
    this.#commitError = error
    this.#restore()
    sendErrorResponse(this.#res, this.#options.onCommitError(error))
  }

  #restore(): void {
    const target = this.#res as unknown as Record<HeaderMethod, Method>
    for (const { name, original, wrapper } of this.#wrapped) {
      if (target[name] === wrapper) target[name] = original
    }
  }
}
