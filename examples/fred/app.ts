import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SessionFactory } from 'cloakroom'
import { withSession } from 'cloakroom/node'

/** The data of the Fred example's session. */
export interface FredData {
  abc?: string
  fred?: string
}

/**
 * Adapted from the Pyramid docs' first session example: if `abc` is in the session, set `fred`;
 * always set `abc`; report whether `fred` was in the session the request came with. Over three
 * requests that is not, not, was. (Pyramid's own view checks for `fred` after setting it, so it
 * answers not, was, was.)
 *
 * @param factory the session factory to use
 * @returns a `node:http` request listener
 */
export function createFredApp(
  factory: SessionFactory<FredData>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return withSession(factory, (req, res) => {
    const session = req.session
    // The answer describes the session as the request found it.
    const answer = session.has('fred') ? 'Fred was in the session' : 'Fred was not in the session'
    if (session.has('abc')) session.set('fred', 'yes')
    session.set('abc', '123')
    res.setHeader('content-type', 'text/plain; charset=utf-8')
    res.end(answer)
  })
}
