/**
 * `cloakroom/express`: sessions for Express 4 and 5, as `req.session`, and their CSRF
 * protection, `csrf()`.
 *
 * @example
 * ```ts
 * import { session, sessionErrorHandler } from 'cloakroom/express'
 * app.use(session(factory))
 * app.get('/', (req, res) => res.send(String(req.session.isNew)))
 * app.use(sessionErrorHandler())
 * ```
 *
 * @module cloakroom/express
 */
export { session, sessionErrorHandler, type ExpressSessionOptions } from './lib/adapter/express.js'
export { csrf } from './lib/adapter/express-csrf.js'
