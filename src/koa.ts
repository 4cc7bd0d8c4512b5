/**
 * `cloakroom/koa`: sessions for Koa 2 and 3, as `ctx.session`, and their CSRF
 * protection, `csrf()`.
 *
 * @example
 * ```ts
 * import { session } from 'cloakroom/koa'
 * app.use(session(factory))
 * app.use((ctx) => { ctx.body = String(ctx.session.isNew) })
 * ```
 *
 * @module cloakroom/koa
 */
export { session } from './lib/adapter/koa.js'
export { csrf } from './lib/adapter/koa-csrf.js'
