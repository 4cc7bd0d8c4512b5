/**
 * `cloakroom/koa`: sessions for Koa 2 and 3, as `ctx.session`.
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
