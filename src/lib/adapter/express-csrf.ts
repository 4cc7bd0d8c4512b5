import type { Request, RequestHandler } from 'express'
import { checkCsrf, resolveCsrfOptions, type CsrfOptions } from '../http/csrf.js'
import { formBodyFieldOf, readUnparsedForm } from '../http/form-field.js'

function hostnameOf(host: string): string {
  const offset = host.startsWith('[') ? host.indexOf(']') + 1 : 0
  const colon = host.indexOf(':', offset)
  return colon === -1 ? host : host.slice(0, colon)
}

/** Express's compiled `trust proxy` setting (Express 4 and 5 keep it as `trust proxy fn`). */
type TrustProxy = (address: string | undefined, hop: number) => boolean

/**
 * The request's own origin. `req.protocol` and `req.hostname` follow the `trust proxy` setting
 * (in Express 4 and 5); the port comes from the header that named that host: `X-Forwarded-Host`
 * only when `trust proxy` trusts the peer, as Express itself decides.
 */
function originOf(req: Request): string {
  const trust = req.app.get('trust proxy fn') as TrustProxy | undefined
  const forwarded =
    typeof trust === 'function' && trust(req.socket.remoteAddress, 0)
      ? req.get('x-forwarded-host')?.split(',')[0]!.trim()
      : undefined
  const host =
    forwarded !== undefined && forwarded !== '' && hostnameOf(forwarded) === req.hostname
      ? forwarded
      : (req.get('host') ?? '')
  return `${req.protocol}://${host}`
}

/**
 * Express middleware (Express 4 and 5) that protects the routes after it against CSRF: unsafe
 * requests (everything but GET, HEAD, OPTIONS and TRACE) must carry the session's token (plain or
 * masked) in the `X-CSRF-Token` header or the `csrf_token` form field, and over HTTPS come from
 * the request's own origin (or a trusted one). Mount it after `session(factory)` and after your
 * body parsers, app-wide or on single routes.
 *
 * @remarks
 * A refused request is passed to `next(error)` with a {@link CsrfError} (`code`
 * `ERR_CSRF_REJECTED`, `statusCode` 403, `reason`), so Express answers 403 and your error
 * handlers can answer otherwise. The token field is read from `req.body` when a body parser
 * (`express.urlencoded()`, multer, ...) ran before; when none did, the middleware reads an
 * `application/x-www-form-urlencoded` body of an unsafe request itself (up to 1 MiB; a larger
 * one is answered 413 with a {@link FormTooLargeError}, never handed on as an empty form, as soon
 * as its size shows; the error's `headers` close the connection) and
 * sets `req.body` to its fields (a string per field, an array for a repeated one), so your
 * handlers read the form there. Multipart forms need a parser mounted before it. The query string is never
 * read. The origin is `req.protocol` and the host the request was sent to, both following the
 * `trust proxy` setting: behind a TLS-terminating proxy, set it so that HTTPS is recognised.
 *
 * @param options safe methods, header and field names, trusted origins
 * @returns the middleware
 * @throws {@link ConfigError} for invalid options
 *
 * @example
 * ```ts
 * app.use(session(factory))
 * app.use(csrf())
 * app.post('/profile', (req, res) => res.send(`Saved ${req.body.name}`))
 * ```
 */
export function csrf(options: CsrfOptions = {}): RequestHandler {
  const resolved = resolveCsrfOptions(options)
  const check = async (req: Request): Promise<void> => {
    if (!resolved.safeMethods.has(req.method.toUpperCase())) {
      const form = await readUnparsedForm(req, req.body)
      if (form !== undefined) {
        req.body = form
        // body-parser 1 (Express 4) skips a request so marked instead of reading it again.
        ;(req as { _body?: boolean })._body = true
      }
    }
    await checkCsrf(
      {
        method: req.method,
        origin: originOf(req),
        header: (name) => req.get(name),
        formField: (field) => formBodyFieldOf(req.headers['content-type'], req.body, field),
      },
      req.session,
      resolved,
    )
  }
  return (req, _res, next) => {
    check(req).then(() => next(), next)
  }
}
