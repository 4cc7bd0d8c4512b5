import type { Middleware, ParameterizedContext } from 'koa'
import type { SessionFactory } from '../factory/session-factory.js'
import { interceptResponse } from '../http/response-interceptor.js'
import type { DefaultSessionData, Session } from '../session/session.js'
import { InterceptedCommit } from './intercepted-commit.js'

declare module 'koa' {
  interface DefaultContext {
    /**
     * The request's session, set by `session(factory)` from `cloakroom/koa`. Type its data once
     * by augmenting `SessionData` from `cloakroom`.
     */
    session: Session<DefaultSessionData>
  }
}

/** A session that could not be saved is reported as the app's `error` event. */
function reportToApp(error: unknown, ctx: ParameterizedContext): void {
  ctx.app.emit('error', error, ctx)
}

/**
 * Koa middleware (Koa 2 and 3) that loads the request's session into `ctx.session` and adds its
 * cookie to the response.
 *
 * @remarks
 * The cookie is added when Koa (or a handler writing to `ctx.res` directly) sends the headers,
 * so changes made after `await next()` in outer middleware are still saved; a server-side commit
 * is awaited before the headers go out. Changing the session after that (for example while a
 * streamed `ctx.body` is being sent) throws {@link SessionCommittedError}. An error thrown
 * downstream marks the request failed (the session is saved only with the factory's
 * `setOnException`) and is rethrown to Koa. A session that cannot be loaded is thrown to Koa; an
 * unavailable store has `statusCode` 503. A commit that fails while the response is being sent is
 * emitted as the app's `error` event and answered 500 (503 for an unavailable store).
 *
 * @param factory the session factory
 * @returns the middleware
 *
 * @example
 * ```ts
 * const app = new Koa()
 * app.use(session(factory))
 * app.use((ctx) => {
 *   ctx.session.set('visits', Number(ctx.session.get('visits') ?? 0) + 1)
 *   ctx.body = `visit ${String(ctx.session.get('visits'))}`
 * })
 * ```
 */
export function session<Data extends object = DefaultSessionData>(
  factory: SessionFactory<Data>,
): Middleware {
  return async (ctx, next) => {
    const loading = factory.load(ctx.get('cookie'))
    // A cookie factory loads synchronously: no await, no extra turn of the microtask queue.
    const loaded = loading instanceof Promise ? await loading : loading
    ctx.session = loaded as unknown as Session<DefaultSessionData>
    const interceptor = interceptResponse(
      ctx.res,
      new InterceptedCommit(factory, loaded, ctx, reportToApp),
    )
    try {
      await next()
    } catch (error) {
      interceptor.markFailed()
      throw error
    }
  }
}
