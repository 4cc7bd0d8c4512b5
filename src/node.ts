/**
 * `cloakroom/node`: sessions for plain `node:http` servers.
 *
 * @example
 * ```ts
 * import { withSession } from 'cloakroom/node'
 * createServer(withSession(factory, (req, res) => res.end(String(req.session.isNew))))
 * ```
 *
 * @module cloakroom/node
 */
export {
  withSession,
  type NodeSessionHandler,
  type NodeSessionOptions,
  type SessionRequest,
} from './lib/adapter/node.js'
export { withCsrf, type NodeCsrfOptions } from './lib/adapter/node-csrf.js'
export { readFormBody } from './lib/http/form-body.js'
