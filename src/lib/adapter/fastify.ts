import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import fastifyPlugin from 'fastify-plugin'
import { commitOptions, type SessionFactory } from '../factory/session-factory.js'
import { applySessionCookies, headerText, type HeaderCarrier } from '../http/carrier.js'
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

  // Fastify appends repeated `set-cookie` values; the carrier appends no other header.
  append(name: string, value: string): void {
    this.#reply.header(name, value)
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
      next(null, payload)
      return
    }
    ;(request as WithState)[STATE] = state | COMMITTED
    let committing: readonly string[] | Promise<readonly string[]>
    try {
      committing = factory.commit(request.session, commitOptions((state & FAILED) !== 0))
    } catch (error) {
      next(error as Error)
      return
    }
    if (committing instanceof Promise) {
      committing.then((cookies) => {
        applySessionCookies(new ReplyHeaders(reply), cookies)
        next(null, payload)
      }, next)
      return
    }
    if (committing.length > 0) applySessionCookies(new ReplyHeaders(reply), committing)
    next(null, payload)
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
 * 503. Responses sent with `reply.hijack()` skip `onSend` and carry no session cookie.
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
