import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import fastifyPlugin from 'fastify-plugin'
import { commitOptions, type SessionFactory } from '../factory/session-factory.js'
import type { ServerResponse } from 'node:http'
import {
  applySessionCookies,
  headerText,
  keepFromSharedCaches,
  type HeaderCarrier,
} from '../http/carrier.js'
import { nodeHeaderCarrier } from '../http/response-interceptor.js'
import { releaseBody } from '../http/web-headers.js'
import type { DefaultSessionData, Session as CloakroomSession } from '../session/session.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The request's session, set by the `session` plugin from `cloakroom/fastify`. Type its data
     * once by augmenting `SessionData` from `cloakroom`.
     */
    session: CloakroomSession<DefaultSessionData>
  }
}

/** Options of the Fastify plugin {@link session}. */
export interface FastifySessionOptions {
  /**
   * The session factory. Its data type is the app-wide `SessionData` (augment it), the type
   * `request.session` has.
   */
  readonly factory: SessionFactory<DefaultSessionData>
}

/** The reply's headers, as {@link applySessionCookies} sees them. */
class ReplyHeaders implements HeaderCarrier {
  readonly #reply: FastifyReply

  constructor(reply: FastifyReply) {
    this.#reply = reply
  }

  get(name: string): string | undefined {
    return headerText(this.#reply.getHeader(name))
  }

  set(name: string, value: string): void {
    this.#reply.header(name, value)
  }

  // The carrier appends no header but `set-cookie`. Fastify appends repeated values to its own
  // list, but that list replaces one set on `reply.raw` (by Connect-style middleware): read that
  // through getHeader and write both back.
  append(name: string, value: string): void {
    const current = this.#reply.getHeader(name)
    if (current === undefined) {
      this.#reply.header(name, value)
      return
    }
    const values = Array.isArray(current) ? current.map(String) : [String(current)]
    this.#reply.removeHeader(name)
    this.#reply.header(name, [...values, value])
  }
}

/** Headers given to `writeHead` as an object (Fastify passes its own), as a carrier. */
class HeadersObject implements HeaderCarrier {
  readonly #headers: Record<string, unknown>

  constructor(headers: Record<string, unknown>) {
    this.#headers = headers
  }

  get(name: string): string | undefined {
    return headerText(this.#headers[name] as string | readonly string[] | undefined)
  }

  set(name: string, value: string): void {
    this.#headers[name] = value
  }

  append(name: string, value: string): void {
    const current = this.get(name)
    this.#headers[name] = current === undefined ? value : [current, value]
  }
}

/**
 * Makes sure a reply that carries a session cookie still has `Vary: Cookie` and a private
 * `Cache-Control` when its head is written: `onSend` hooks that run after the plugin's (those of
 * a child plugin, or a route's own) may replace them, and a shared cache would then store the
 * response, cookie included. Only replies that set a cookie pay for this.
 */
function keepFromSharedCachesAtWriteHead(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse
  const checked = (...args: unknown[]): ServerResponse => {
    const headers = args.find(
      (arg): arg is Record<string, unknown> =>
        typeof arg === 'object' && arg !== null && !Array.isArray(arg),
    )
    keepFromSharedCaches(
      headers === undefined ? nodeHeaderCarrier(res) : new HeadersObject(headers),
    )
    const written = writeHead(...args)
    // Only once the head is out: a writeHead that throws (an invalid header) is followed by an
    // error answer, which must be checked too.
    res.writeHead = writeHead
    return written
  }
  res.writeHead = checked
}

/** Adds the session's cookies to the reply, and keeps it from shared caches until it is sent. */
function addSessionCookies(reply: FastifyReply, cookies: readonly string[]): void {
  if (cookies.length === 0) return
  applySessionCookies(new ReplyHeaders(reply), cookies)
  keepFromSharedCachesAtWriteHead(reply.raw)
}

/**
 * Moves a `Response` payload's status and headers onto the reply and returns its body, as
 * Fastify would do itself after the `onSend` hooks, where its headers would replace the
 * session's `Vary` and `Cache-Control`. Any other payload is returned as it is.
 */
function unwrapResponse(reply: FastifyReply, payload: unknown): unknown {
  // Fastify's own test: a Response from another realm or a polyfill counts too.
  if (Object.prototype.toString.call(payload) !== '[object Response]') return payload
  const response = payload as Response
  if (response.bodyUsed) return payload
  reply.code(response.status)
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') reply.header(name, value)
  })
  // reply.header appends each Set-Cookie to those already set.
  for (const cookie of response.headers.getSetCookie()) reply.header('set-cookie', cookie)
  // Fastify's HEAD hook takes an empty string but fails on null; an onSend hook cannot hand on
  // undefined (it keeps the previous payload). GET keeps null: a 204 or 304 must not get a length.
  if (response.body === null && reply.request.method === 'HEAD') return ''
  return response.body
}

/**
 * Drops the response a failed commit leaves behind, before the error goes to Fastify's error
 * handler: the handler's headers (its own cookies, a `Cache-Control: public`) must not reach the
 * error answer, which gets `Cache-Control: no-store`, and a streamed body is released (Fastify
 * leaves a payload an `onSend` hook failed on open: one file descriptor per request).
 */
function dropResponse(reply: FastifyReply, payload: unknown): void {
  for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name)
  for (const name of reply.raw.getHeaderNames()) reply.raw.removeHeader(name)
  reply.header('cache-control', 'no-store')
  if (Object.prototype.toString.call(payload) === '[object Response]') {
    releaseBody(payload as Response)
  } else if (payload instanceof ReadableStream) {
    payload.cancel().catch(() => {})
  } else if (
    typeof payload === 'object' &&
    payload !== null &&
    typeof (payload as { pipe?: unknown }).pipe === 'function' &&
    typeof (payload as { destroy?: unknown }).destroy === 'function'
  ) {
    ;(payload as { destroy(): void }).destroy()
  }
}

/**
 * Per-request state, as bit flags on a request decoration (a number: every request keeps one
 * shape, and nothing is allocated for it).
 */
const LOADED = 1
const FAILED = 2
const COMMITTED = 4
const STATE = 'cloakroomSessionState'
type WithState = FastifyRequest & { [STATE]: number }

const sessionPlugin: FastifyPluginCallback<FastifySessionOptions> = (fastify, options, done) => {
  const { factory } = options
  fastify.decorateRequest('session', null as unknown as CloakroomSession<DefaultSessionData>)
  fastify.decorateRequest(STATE, 0)

  fastify.addHook('onRequest', (request, _reply, next) => {
    let loading:
      CloakroomSession<DefaultSessionData> | Promise<CloakroomSession<DefaultSessionData>>
    try {
      loading = factory.load(request.headers.cookie)
    } catch (error) {
      next(error as Error)
      return
    }
    if (loading instanceof Promise) {
      loading.then((loaded) => {
        request.session = loaded
        ;(request as WithState)[STATE] = LOADED
        next()
      }, next)
      return
    }
    request.session = loading
    ;(request as WithState)[STATE] = LOADED
    next()
  })

  fastify.addHook('onError', (request, _reply, _error, next) => {
    ;(request as WithState)[STATE] |= FAILED
    next()
  })

  fastify.addHook('onSend', (request, reply, payload, next) => {
    const state = (request as WithState)[STATE]
    if ((state & LOADED) === 0 || (state & COMMITTED) !== 0) {
      return void next(null, payload)
    }
    ;(request as WithState)[STATE] = state | COMMITTED
    let committing: readonly string[] | Promise<readonly string[]>
    try {
      committing = factory.commit(request.session, commitOptions((state & FAILED) !== 0))
    } catch (error) {
      dropResponse(reply, payload)
      return void next(error as Error)
    }
    if (committing instanceof Promise) {
      // Returned, not passed to next() from inside then(): Fastify continues the reply in its
      // own try/catch, so a throw while it is sent (an invalid header) is a 500, not a crash.
      return committing.then(
        (cookies) => {
          const body = unwrapResponse(reply, payload)
          addSessionCookies(reply, cookies)
          return body
        },
        (error: unknown) => {
          dropResponse(reply, payload)
          throw error
        },
      )
    }
    if (committing.length === 0) return void next(null, payload)
    const body = unwrapResponse(reply, payload)
    addSessionCookies(reply, committing)
    return void next(null, body)
  })

  done()
}

/**
 * Fastify plugin (Fastify 5) that loads each request's session into `request.session` and adds
 * its cookie to the reply. Register it with `{ factory }`; it is wrapped with `fastify-plugin`,
 * so the decoration is visible in every scope.
 *
 * @remarks
 * The session loads in `onRequest` and commits in `onSend`, before the headers go out, for every
 * kind of payload (strings, JSON, buffers and streams); a server-side commit is awaited there.
 * Changing the session after `onSend` (for example while a stream is being sent) throws
 * {@link SessionCommittedError}. A request whose error reached Fastify's error handler (the
 * `onError` hook ran) counts as an exception for the factory's `setOnException`. Errors while
 * loading or committing go to Fastify's error handler; an unavailable store has `statusCode`
 * 503. A failed commit first drops the handler's response: its headers are removed (the error
 * answer gets `Cache-Control: no-store`) and a streamed body is released. Responses sent with
 * `reply.hijack()` (or written to `reply.raw` directly) skip `onSend`: they carry no session
 * cookie, the session's changes are not saved, and later changes do not throw. A reply that sets
 * the cookie has its `Vary` and `Cache-Control` checked again when its head is written, so an
 * `onSend` hook that runs after the plugin's (a child plugin's, a route's) cannot make it public.
 * A `Response` returned by a handler has its status and headers moved onto the reply before the
 * cookie is added, so its `Cache-Control` and `Vary` are merged, not left to replace the
 * session's. The commit runs in the plugin's `onSend` hook: an `onSend` hook registered after the
 * plugin that fails cannot undo it, so the 500 it causes still carries the cookie.
 *
 * @example
 * ```ts
 * const app = Fastify()
 * await app.register(session, { factory })
 * app.get('/', async (request) => {
 *   request.session.set('visits', Number(request.session.get('visits') ?? 0) + 1)
 *   return { visits: request.session.get('visits') }
 * })
 * ```
 */
export const session = fastifyPlugin(sessionPlugin, { fastify: '5.x', name: 'cloakroom' })
