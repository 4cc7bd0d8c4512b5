import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import fastifyPlugin from 'fastify-plugin'
import type { SessionFactory } from '../factory/session-factory.js'
import { applySessionCookies, type HeaderCarrier } from '../http/carrier.js'
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

function replyCarrier(reply: FastifyReply): HeaderCarrier {
  return {
    get: (name) => {
      const value = reply.getHeader(name)
      return value === undefined
        ? undefined
        : Array.isArray(value)
          ? value.join(', ')
          : String(value)
    },
    set: (name, value) => {
      reply.header(name, value)
    },
    // Fastify appends repeated `set-cookie` values; the carrier appends no other header.
    append: (name, value) => {
      reply.header(name, value)
    },
  }
}

/** Per-request state, on a request decoration (so every request keeps one shape). */
interface RequestState {
  failed: boolean
  committed: boolean
}

const STATE = 'cloakroomSessionState'
type WithState = FastifyRequest & { [STATE]: RequestState | null }

const sessionPlugin: FastifyPluginCallback<FastifySessionOptions> = (fastify, options, done) => {
  const { factory } = options
  fastify.decorateRequest('session', null as unknown as CloakroomSession<DefaultSessionData>)
  fastify.decorateRequest(STATE, null)

  fastify.addHook('onRequest', (request, _reply, next) => {
    let loading:
      CloakroomSession<DefaultSessionData> | Promise<CloakroomSession<DefaultSessionData>>
    try {
      loading = factory.load(request.headers.cookie)
    } catch (error) {
      next(error as Error)
      return
    }
    const attach = (loaded: CloakroomSession<DefaultSessionData>): void => {
      request.session = loaded
      ;(request as WithState)[STATE] = { failed: false, committed: false }
      next()
    }
    if (loading instanceof Promise) loading.then(attach, next)
    else attach(loading)
  })

  fastify.addHook('onError', (request, _reply, _error, next) => {
    const state = (request as WithState)[STATE]
    if (state !== null) state.failed = true
    next()
  })

  fastify.addHook('onSend', (request, reply, payload, next) => {
    const state = (request as WithState)[STATE]
    if (state === null || state.committed) {
      next(null, payload)
      return
    }
    state.committed = true
    const send = (cookies: readonly string[]): void => {
      applySessionCookies(replyCarrier(reply), cookies)
      next(null, payload)
    }
    let committing: readonly string[] | Promise<readonly string[]>
    try {
      committing = factory.commit(request.session, { failed: state.failed })
    } catch (error) {
      next(error as Error)
      return
    }
    if (committing instanceof Promise) committing.then(send, next)
    else send(committing)
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
