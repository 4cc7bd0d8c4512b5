/**
 * `cloakroom/web`: sessions for Web-standard `Request` → `Response` handlers.
 *
 * @example
 * ```ts
 * import { withSession } from 'cloakroom/web'
 * const fetch = withSession(factory, (request, session) => new Response(String(session.isNew)))
 * ```
 *
 * @module cloakroom/web
 */
export { withSession, type WebSessionHandler, type WebSessionOptions } from './lib/adapter/web.js'
export { withCsrf, type WebCsrfOptions } from './lib/adapter/web-csrf.js'
