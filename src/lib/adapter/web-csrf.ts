import { CsrfError } from '../errors.js'
import { checkCsrf, resolveCsrfOptions, type CsrfOptions } from '../http/csrf.js'
import { readWebForm } from '../http/web-form.js'
import { singleFieldValue } from '../http/form-field.js'
import type { DefaultSessionData } from '../session/session.js'
import type { WebSessionHandler } from './web.js'

/** Options of the Web {@link withCsrf}. */
export interface WebCsrfOptions extends CsrfOptions {
  /**
   * Answers a refused request.
   * @defaultValue a plain-text 403
   */
  readonly onRejected?: (error: CsrfError, request: Request) => Response | Promise<Response>
}

/**
 * Protects a Web-standard session handler against CSRF: unsafe requests must carry the session's
 * token in the `X-CSRF-Token` header or the `csrf_token` field of a form body (urlencoded or
 * multipart, read from a clone so the handler still gets the body; at most 1 MiB of it, a larger
 * form counts as carrying no token), and on HTTPS come from the request's own origin. Refused
 * requests get a 403.
 *
 * @param handler the handler to protect
 * @param options where the token is read and which origins are trusted
 * @returns the protected handler, to pass to `withSession`
 * @throws {@link ConfigError} for invalid options
 *
 * @example
 * ```ts
 * const fetch = withSession(factory, withCsrf(async (request, session) => new Response('ok')))
 * ```
 */
export function withCsrf<Data extends object = DefaultSessionData>(
  handler: WebSessionHandler<Data>,
  options: WebCsrfOptions = {},
): WebSessionHandler<Data> {
  const resolved = resolveCsrfOptions(options)
  const onRejected =
    options.onRejected ??
    (() =>
      new Response('Forbidden: CSRF check failed', {
        status: 403,
        headers: { 'content-type': 'text/plain' },
      }))
  return async (request, session) => {
    try {
      await checkCsrf(
        {
          method: request.method,
          origin: new URL(request.url).origin,
          header: (name) => request.headers.get(name) ?? undefined,
          formField: async (field) =>
            singleFieldValue((await readWebForm(request))?.getAll(field) ?? []),
        },
        session,
        resolved,
      )
    } catch (error) {
      if (error instanceof CsrfError) return onRejected(error, request)
      throw error
    }
    return handler(request, session)
  }
}
