import type { MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { CsrfError } from '../errors.js'
import { checkCsrf, resolveCsrfOptions, type CsrfOptions } from '../http/csrf.js'
import { readWebForm } from '../http/web-form.js'
import { singleFieldValue } from '../http/form-field.js'

/**
 * Hono middleware (Hono 4) that protects the routes after it against CSRF: unsafe requests
 * (everything but GET, HEAD, OPTIONS and TRACE) must carry the session's token (plain or masked)
 * in the `X-CSRF-Token` header or the `csrf_token` field of a urlencoded or multipart form, and
 * over HTTPS come from the request's own origin (or a trusted one). Mount it after
 * `session(factory)`, app-wide or on single routes.
 *
 * @remarks
 * A refused request throws an `HTTPException` with status 403 whose `cause` is the
 * {@link CsrfError} (`code` `ERR_CSRF_REJECTED`, `reason`), so Hono answers 403 and `app.onError`
 * can answer otherwise. The form is read from a clone of the request, at most 1 MiB of it (a
 * larger form counts as carrying no token), so the handler reads the body in any way it likes;
 * when a middleware before it already read the body through Hono, Hono's parsed copy
 * (`c.req.parseBody()`) is used instead. The query string is never read. The origin is the one
 * of `c.req.url`: behind a TLS-terminating proxy that URL says `http:` unless the server is told
 * otherwise, and origins are then not checked (`Sec-Fetch-Site` and the token still are).
 *
 * @param options safe methods, header and field names, trusted origins
 * @returns the middleware
 * @throws {@link ConfigError} for invalid options
 *
 * @example
 * ```ts
 * app.use(session(factory))
 * app.use(csrf())
 * app.post('/profile', async (c) => c.text(`Saved ${String((await c.req.parseBody()).name)}`))
 * ```
 */
export function csrf(options: CsrfOptions = {}): MiddlewareHandler {
  const resolved = resolveCsrfOptions(options)
  return async (c, next) => {
    try {
      await checkCsrf(
        {
          method: c.req.method,
          origin: new URL(c.req.url).origin,
          header: (name) => c.req.header(name),
          formField: async (field) => {
            // A middleware before this one may have read the body through Hono, which keeps
            // the parsed form: use that copy, since the raw body can no longer be read.
            if (!c.req.raw.bodyUsed) {
              return singleFieldValue((await readWebForm(c.req.raw))?.getAll(field) ?? [])
            }
            const value: unknown = await c.req.parseBody({ all: true }).then(
              (body) => body[field],
              () => undefined,
            )
            return singleFieldValue(Array.isArray(value) ? value : [value])
          },
        },
        c.get('session'),
        resolved,
      )
    } catch (error) {
      if (error instanceof CsrfError) {
        throw new HTTPException(403, { message: 'Forbidden: CSRF check failed', cause: error })
      }
      throw error
    }
    await next()
  }
}
