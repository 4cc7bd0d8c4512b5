import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { applySessionCookies, headerText, type HeaderCarrier } from './carrier.js'

/** The `ServerResponse` methods that send the headers. */
type HeaderMethod = 'writeHead' | 'write' | 'end' | 'flushHeaders'

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
   * Told about an error the interceptor answers for itself: a failed commit, or a call held back
   * during an asynchronous commit that failed when it was replayed. The interceptor then answers
   * 500 or 503, or cuts the response off when its headers are already sent.
   *
   * @param error what was thrown
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
  /**
   * What the commit threw, if it failed. It is never thrown from the call that sent the headers:
   * that call may run in a stream or timer callback, where a throw would crash the process.
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
 * application set is dropped), or destroys it when they are and it is not complete.
 *
 * @param res the response
 * @param status the status to answer with
 */
export function sendErrorResponse(res: ServerResponse, status: 500 | 503): void {
  const methods = res as unknown as Record<HeaderMethod, Method>
  writeErrorResponse(res, status, methods.writeHead, methods.end)
}

/** {@link sendErrorResponse} through the given `writeHead` and `end`. */
function writeErrorResponse(
  res: ServerResponse,
  status: 500 | 503,
  writeHead: Method,
  end: Method,
): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy()
    return
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name)
  const body = status === 503 ? 'Service Unavailable' : 'Internal Server Error'
  // An explicit length: an end() that failed earlier may have left its own behind.
  writeHead.call(res, status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': String(body.length),
  })
  end.call(res, body)
}

/**
 * Moves headers given to `writeHead(status, [message], headers)` onto the response first, as
 * `writeHead` itself merges them with headers set before: an object replaces each name, and a
 * list of pairs or a flat `[name, value, ...]` list replaces each name and keeps its repeats.
 *
 * @returns the arguments without the headers, or unchanged when they are not valid headers (the
 *   original `writeHead` then throws its own error)
 */
function takeWriteHeadHeaders(res: ServerResponse, args: unknown[]): unknown[] {
  const last = args[args.length - 1]
  if (args.length < 2 || typeof last !== 'object' || last === null) return args
  if (!Array.isArray(last)) {
    for (const [name, value] of Object.entries(last as OutgoingHttpHeaders)) {
      if (value !== undefined) res.setHeader(name, value)
    }
  } else {
    // Pairs, or a flat list read as pairs: a name given several times keeps each value.
    let pairs = last as [string, unknown][]
    if (last.length === 0 || !Array.isArray(last[0])) {
      if (last.length % 2 !== 0) return args
      pairs = []
      for (let index = 0; index < last.length; index += 2) {
        const name: unknown = last[index]
        pairs.push([typeof name === 'string' ? name : '', last[index + 1]])
      }
    }
    for (const [name] of pairs) if (name) res.removeHeader(name)
    for (const [name, value] of pairs) {
      // 0 and '' are values too (Content-Length: 0).
      if (name && value !== undefined && value !== null) {
        res.appendHeader(name, value as string | readonly string[])
      }
    }
  }
  return args.slice(0, -1)
}

/**
 * Holds back the headers of a `node:http` response until the session is committed: the first
 * call to `writeHead`, `write`, `end` or `flushHeaders` runs the commit and adds its cookies,
 * whichever the application (or its framework) uses.
 *
 * @remarks
 * A synchronous commit (cookie factories) adds the cookies and lets the call through at once. An
 * asynchronous commit (server-side stores) is awaited before anything is written: calls made
 * meanwhile are queued in order and replayed, and `res.headersSent` is already true, as it would
 * be without the wait, so frameworks do not start a second response. A replayed call that fails
 * (an invalid header value) is reported, never thrown into a promise; a replayed call after
 * `end` is not made, but its callback runs as node:http would run it.
 *
 * A failed commit is reported through `onCommitError` and replaces the response with a 500 (503
 * for an unavailable store); the call that triggered it does nothing. It is never thrown from that
 * call, which may run in a stream or timer callback where a throw would crash the process. Once
 * committed, each wrapper that is still outermost is replaced by the original method (by
 * assignment: deleting properties would slow every later access to the response); a wrapper that
 * later middleware wrapped again stays and passes calls straight through.
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
  interception.wrap()
  return interception
}

type State = 'waiting' | 'committing' | 'done' | 'aborted'

/** The methods that change headers, refused while a commit is awaited, and their verbs. */
const HEADER_CHANGES = [
  ['setHeader', 'set'],
  ['appendHeader', 'append'],
  ['removeHeader', 'remove'],
] as const

/** One response's interception; a class, so a request allocates as little as possible. */
class Interception implements ResponseInterceptor {
  readonly #res: ServerResponse
  readonly #options: ResponseInterceptorOptions
  #state: State = 'waiting'
  #failed = false
  #abandoned = false
  #queue: [HeaderMethod, unknown[]][] | undefined
  /** Bytes of the writes held back while the commit is awaited, for backpressure. */
  #queuedBytes = 0
  /** A held-back write answered false: the writer waits for 'drain'. */
  #toldToWait = false
  #commitError: unknown
  /** The status when the commit started to be awaited; a status set meanwhile is undone. */
  #heldStatus: [number, string] | undefined
  /** The response's own `setHeader`... properties (wrappers), put back when the commit settles. */
  #ownHeaderMethods: (PropertyDescriptor | undefined)[] | undefined
  // The response's own methods (restored once committed) and the wrappers put over them: fields,
  // not a list of entries, so a request allocates only the four wrappers.
  #writeHead!: Method
  #write!: Method
  #end!: Method
  #flushHeaders!: Method
  #writeHeadWrapper!: Method
  #writeWrapper!: Method
  #endWrapper!: Method
  #flushHeadersWrapper!: Method

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

  wrap(): void {
    const res = this.#res as unknown as Record<HeaderMethod, Method>
    this.#writeHead = res.writeHead
    this.#write = res.write
    this.#end = res.end
    this.#flushHeaders = res.flushHeaders
    res.writeHead = this.#writeHeadWrapper = (...args) => this.#intercept('writeHead', args)
    res.write = this.#writeWrapper = (...args) => this.#intercept('write', args)
    res.end = this.#endWrapper = (...args) => this.#intercept('end', args)
    res.flushHeaders = this.#flushHeadersWrapper = (...args) =>
      this.#intercept('flushHeaders', args)
  }

  /** Calls the response's own method `name`. */
  #call(name: HeaderMethod, args: unknown[]): unknown {
    switch (name) {
      case 'writeHead':
        return this.#writeHead.apply(this.#res, args)
      case 'write':
        return this.#write.apply(this.#res, args)
      case 'end':
        return this.#end.apply(this.#res, args)
      case 'flushHeaders':
        return this.#flushHeaders.apply(this.#res, args)
    }
  }

  #intercept(name: HeaderMethod, args: unknown[]): unknown {
    switch (this.#state) {
      case 'done':
        return this.#call(name, args)
      case 'aborted':
        this.#drop(args)
        return name === 'write' ? false : this.#res
      case 'committing':
        this.#queue!.push([name, args])
        return name === 'write' ? this.#holdWrite(args) : this.#res
      case 'waiting':
        break
    }
    // writeHead(status, ...) sets the status only when it runs, after the commit: the commit
    // (which may count a 5xx as failed) must see the status the response is about to get.
    if (name === 'writeHead') {
      // As node:http reads it: a numeric string counts.
      const status = Math.trunc(Number(args[0]))
      if (status >= 100 && status <= 999) this.#res.statusCode = status
    }
    let committed: readonly string[] | Promise<readonly string[]>
    try {
      committed = this.#options.commit(this.#failed)
    } catch (error) {
      this.#abort(error)
      this.#drop(args)
      return name === 'write' ? false : this.#res
    }
    if (!(committed instanceof Promise)) {
      this.#flush(committed, name, args)
      return this.#call(name, args)
    }
    this.#state = 'committing'
    this.#reportHeadersSent(true)
    const queue: [HeaderMethod, unknown[]][] = [[name, args]]
    this.#queue = queue
    committed.then(
      (cookies) => {
        this.#reportHeadersSent(false)
        this.#replay(cookies, queue.splice(0))
        if (this.#abandoned && !this.#res.writableEnded) this.#res.destroy()
      },
      (error: unknown) => {
        this.#reportHeadersSent(false)
        this.#abort(error)
        for (const [, held] of queue.splice(0)) this.#drop(held)
      },
    )
    return name === 'write' ? this.#holdWrite(args) : this.#res
  }

  /**
   * The answer to a write held back while the commit is awaited: false once the held-back bytes
   * pass the response's high-water mark, as a real write would, so a piped stream pauses instead
   * of being read into memory while a slow store saves. 'drain' follows once they are written.
   */
  #holdWrite(args: unknown[]): boolean {
    const chunk = args[0]
    if (typeof chunk === 'string') this.#queuedBytes += Buffer.byteLength(chunk)
    else if (chunk instanceof Uint8Array) this.#queuedBytes += chunk.byteLength
    if (this.#queuedBytes < this.#res.writableHighWaterMark) return true
    this.#toldToWait = true
    return false
  }

  /**
   * While the commit is awaited, the response behaves as node:http's does once its head is out:
   * the application has sent it, and a framework that checks (Express's final handler, Koa) must
   * not start another.
   *
   * - `res.headersSent` says true;
   * - `setHeader`, `appendHeader` and `removeHeader` throw `ERR_HTTP_HEADERS_SENT`, rather than
   *   change the head held back;
   * - a status set now is undone before the held-back calls are replayed.
   *
   * Own properties over node:http's, removed when the commit settles (only responses that wait
   * for a store pay for the deletion).
   */
  #reportHeadersSent(sent: boolean): void {
    const res = this.#res as unknown as Record<string, unknown>
    if (sent) {
      this.#heldStatus = [this.#res.statusCode, this.#res.statusMessage]
      Object.defineProperty(res, 'headersSent', { configurable: true, value: true })
      this.#ownHeaderMethods = HEADER_CHANGES.map(([method]) =>
        Object.getOwnPropertyDescriptor(res, method),
      )
      for (const [method, verb] of HEADER_CHANGES) {
        if (typeof res[method] !== 'function') continue
        const refuse = (): never => {
          throw Object.assign(
            new Error(`Cannot ${verb} headers after they are sent to the client`),
            {
              code: 'ERR_HTTP_HEADERS_SENT',
            },
          )
        }
        Object.defineProperty(res, method, { configurable: true, writable: true, value: refuse })
      }
      return
    }
    delete res.headersSent
    // A method another library put on the response itself (a wrapper) comes back as it was.
    HEADER_CHANGES.forEach(([method], index) => {
      const own = this.#ownHeaderMethods![index]
      if (own === undefined) delete res[method]
      else Object.defineProperty(res, method, own)
    })
    ;[this.#res.statusCode, this.#res.statusMessage] = this.#heldStatus!
  }

  /**
   * Adds the cookies, then replays the calls held back during the commit. Nothing may throw here
   * (it would be an unhandled rejection): a failing call is reported and ends the response.
   */
  #replay(cookies: readonly string[], queue: readonly [HeaderMethod, unknown[]][]): void {
    try {
      this.#flush(cookies, queue[0]![0], queue[0]![1])
      let lastWrite: unknown = true
      for (const [name, args] of queue) {
        if (this.#res.writableEnded) {
          this.#skipAfterEnd(name, args)
          continue
        }
        // A second writeHead held back (a library that checked `_header`, unset while the commit
        // was awaited, and wrote the head again) would throw: the head is already out.
        if (name === 'writeHead' && this.#res.headersSent) continue
        const result = this.#call(name, args)
        if (name === 'write') lastWrite = result
      }
      // A writer told to wait gets its 'drain': from node:http when the last write filled the
      // buffer, else from here.
      if (this.#toldToWait && lastWrite !== false && !this.#res.writableEnded) {
        this.#res.emit('drain')
      }
    } catch (error) {
      this.#answerError(error)
    }
  }

  /** Marks the commit done, restores the methods, and adds the cookies. */
  #flush(cookies: readonly string[], name: HeaderMethod, args: unknown[]): void {
    this.#state = 'done'
    this.#restore()
    // Headers passed to writeHead must be on the response before Cache-Control is decided. An
    // invalid one throws, as writeHead would, but only once the cookies are on the response: the
    // caller may catch it and answer with end(), which must still carry them.
    let invalid: { error: unknown } | undefined
    if (name === 'writeHead') {
      try {
        const rest = takeWriteHeadHeaders(this.#res, args)
        // The same array when there were no headers to take (writeHead(404)): keep it as it is.
        if (rest !== args) args.splice(0, args.length, ...rest)
      } catch (error) {
        invalid = { error }
      }
    }
    if (cookies.length > 0) applySessionCookies(nodeHeaderCarrier(this.#res), cookies)
    if (invalid !== undefined) throw invalid.error
  }

  /**
   * A call held back during the commit that comes after `end()`. Made, a write would be a "write
   * after end" error emitted on the response, where nobody listens: it is not made, but its
   * callback runs as node:http would run it, so code that awaits it goes on. An `end(callback)`
   * without data is made: node:http calls its callback at 'finish'.
   */
  #skipAfterEnd(name: HeaderMethod, args: unknown[]): void {
    if (name !== 'write' && name !== 'end') return
    const callback = args[args.length - 1]
    if (typeof callback !== 'function') return
    if (name === 'end' && (typeof args[0] === 'function' || !args[0])) {
      this.#end.call(this.#res, callback)
      return
    }
    const error = Object.assign(new Error('write after end'), {
      code: 'ERR_STREAM_WRITE_AFTER_END',
    })
    process.nextTick(callback, error)
  }

  /**
   * Drops a call the failed commit will never send, but still calls its callback (with the
   * commit's error, on a later tick, as a stream reports a failed write): a handler awaiting
   * `res.end(callback)` must not wait forever.
   */
  #drop(args: unknown[]): void {
    const callback = args[args.length - 1]
    if (typeof callback === 'function') process.nextTick(callback, this.#commitError)
  }

  /**
   * Answers for a failed commit. The wrappers stay: what the application still sends (the page it
   * meant to send, the rest of a stream) is dropped, not written after the end.
   */
  #abort(error: unknown): void {
    this.#state = 'aborted'
    this.#commitError = error
    this.#answerError(error)
  }

  /**
   * Reports `error` and answers 500 or 503 through the response's own methods. A reporter that
   * throws still gets its 500 sent: the response must not hang, and nothing may throw from here.
   */
  #answerError(error: unknown): void {
    let status: 500 | 503 = 500
    try {
      status = this.#options.onCommitError(error)
    } catch {
      // The application's own error hook failed; the answer below does not depend on it.
    }
    writeErrorResponse(this.#res, status, this.#writeHead, this.#end)
  }

  #restore(): void {
    const res = this.#res as unknown as Record<HeaderMethod, Method>
    if (res.writeHead === this.#writeHeadWrapper) res.writeHead = this.#writeHead
    if (res.write === this.#writeWrapper) res.write = this.#write
    if (res.end === this.#endWrapper) res.end = this.#end
    if (res.flushHeaders === this.#flushHeadersWrapper) res.flushHeaders = this.#flushHeaders
  }
}
