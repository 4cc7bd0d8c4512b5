/**
 * `cloakroom/fastify`: sessions for Fastify 5, as `request.session`, and their CSRF
 * protection, `csrf()`.
 *
 * @example
 * ```ts
 * import { session } from 'cloakroom/fastify'
 * await app.register(session, { factory })
 * app.get('/', async (request) => ({ isNew: request.session.isNew }))
 * ```
 *
 * @module cloakroom/fastify
 */
export { session, type FastifySessionOptions } from './lib/adapter/fastify.js'
export { csrf } from './lib/adapter/fastify-csrf.js'
