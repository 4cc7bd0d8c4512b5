import type { IncomingMessage, ServerResponse } from 'node:http'
import { CsrfError } from '../errors.js'
import { checkCsrf, resolveCsrfOptions, type CsrfOptions } from '../http/csrf.js'
import { readFormBody } from '../http/form-body.js'
import { singleFieldValue } from '../http/form-field.js'
import type { DefaultSessionData } from '../session/session.js'
import type { NodeSessionHandler } from './node.js'

/** Options of the `node:http` {@link withCsrf}. */
export interface NodeCsrfOptions extends CsrfOptions {
  /**
   * Whether the server is reached over HTTPS (then `Origin` is checked). By default true when the
   * socket is TLS or a `X-Forwarded-Proto: https` header says so — set it explicitly behind a proxy
   * you do not control.
   * @defaultValue detected per request
   */
  readonly https?: boolean
  /**
   * Answers a refused request.
   * @defaultValue a plain-text 403
   */
  readonly onRejected?: (error: CsrfError, req: IncomingMessage, res: ServerResponse) => void
}

/** The host the request was sent to: `Host`, or HTTP/2's `:authority` (which replaces it). */
function hostOf(req: IncomingMessage): string {
  const authority = (req.headers as Record<string, string | string[] | undefined>)[':authority']
  return req.headers.host ?? (typeof authority === 'string' ? authority : 'localhost')
}

/**
 * Protects a `node:http` session handler against CSRF: unsafe requests (everything but GET, HEAD,
 * OPTIONS and TRACE) must carry the session's token in the `X-CSRF-Token` header or the
 * `csrf_token` field of a urlencoded form, and on HTTPS come from the request's own origin.
 * Refused requests get a 403.
 *
 * @remarks
 * The form body is read with {@link readFormBody}, which the handler calls too to get the same
 * parsed form; the body is also put back into the request stream, so a handler (or a body parser)
 * that reads the stream itself gets all of it. Put it inside `withSession`.
 *
 * @param handler the handler to protect
 * @param options where the token is read and which origins are trusted
 * @returns the protected handler
 * @throws {@link ConfigError} for invalid options
 *
 * @example
 * ```ts
 * createServer(withSession(factory, withCsrf(async (req, res) => {
 *   const form = await readFormBody(req)
 *   res.end(`Hello ${form.get('name')}`)
 * })))
 * ```
 */
export function withCsrf<Data extends object = DefaultSessionData>(
  handler: NodeSessionHandler<Data>,
  options: NodeCsrfOptions = {},
): NodeSessionHandler<Data> {
  const resolved = resolveCsrfOptions(options)
  const onRejected =
    options.onRejected ??
    ((_error, _req, res) => {
      res.statusCode = 403
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end('Forbidden: CSRF check failed')
    })
  return async (req, res) => {
    const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true
    const forwarded =
      String(req.headers['x-forwarded-proto'] ?? '')
        .split(',')[0]!
        .trim() === 'https'
    const https = options.https ?? (encrypted || forwarded)
    try {
      await checkCsrf(
        {
          method: req.method ?? 'GET',
          origin: `${https ? 'https' : 'http'}://${hostOf(req)}`,
          header: (name) => {
            const value = req.headers[name]
            return Array.isArray(value) ? value[0] : value
          },
          formField: async (field) => singleFieldValue((await readFormBody(req)).getAll(field)),
        },
        req.session,
        resolved,
      )
    } catch (error) {
      if (error instanceof CsrfError) {
        onRejected(error, req, res)
        return
      }
      throw error
    }
    await handler(req, res)
  }
}
