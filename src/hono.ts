/**
 * `cloakroom/hono`: sessions for Hono 4, as `c.get('session')`, and their CSRF
 * protection, `csrf()`.
 *
 * @example
 * ```ts
 * import { session } from 'cloakroom/hono'
 * app.use(session(factory))
 * app.get('/', (c) => c.text(String(c.get('session').isNew)))
 * ```
 *
 * @module cloakroom/hono
 */
export { session } from './lib/adapter/hono.js'
export { csrf } from './lib/adapter/hono-csrf.js'
