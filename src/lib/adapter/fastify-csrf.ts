import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { checkCsrf, resolveCsrfOptions, type CsrfOptions } from '../http/csrf.js'
import { mediaTypeOf } from '../http/form-body.js'
import { formBodyFieldOf, singleFieldValue } from '../http/form-field.js'

/** Reads the token field from the body Fastify's content-type parser produced. */
function bodyField(request: FastifyRequest, field: string): string | undefined {
  const body: unknown = request.body
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    // A parser registered with `parseAs: 'string'` (or `'buffer'`) that kept the raw form.
    if (mediaTypeOf(request.headers['content-type']) !== 'application/x-www-form-urlencoded') {
      return undefined
    }
    return singleFieldValue(new URLSearchParams(body.toString('utf8')).getAll(field))
  }
  return formBodyFieldOf(request.headers['content-type'], body, field)
}

/**
 * A Fastify `preHandler` hook (Fastify 5) that protects routes against CSRF: unsafe requests
 * (everything but GET, HEAD, OPTIONS and TRACE) must carry the session's token (plain or masked)
 * in the `X-CSRF-Token` header or the `csrf_token` form field, and over HTTPS come from the
 * request's own origin (or a trusted one). Add it with `app.addHook('preHandler', csrf())` in the
 * scope to protect (after registering `session`), or per route as `{ preHandler: csrf() }`.
 *
 * @remarks
 * A refused request throws a {@link CsrfError} (`code` `ERR_CSRF_REJECTED`, `statusCode` 403,
 * `reason`) to Fastify's error handling, so Fastify answers 403 and `setErrorHandler` can answer
 * otherwise. The hook runs after Fastify parsed the body and reads the field from
 * `request.body`: an object from `@fastify/formbody` or `@fastify/multipart` (with
 * `attachFieldsToBody`), or a raw urlencoded string or buffer from a parser registered with
 * `parseAs: 'string'`. Fastify itself parses no forms and answers 415 to a urlencoded body until
 * such a parser is registered; the hook registers none, so it never changes how your app parses
 * bodies. The query string is never read. The origin is `request.protocol` and `request.host`,
 * which follow the `trustProxy` option: behind a TLS-terminating proxy, set it so that HTTPS is
 * recognised.
 *
 * @param options safe methods, header and field names, trusted origins
 * @returns the hook
 * @throws {@link ConfigError} for invalid options
 *
 * @example
 * ```ts
 * await app.register(session, { factory })
 * await app.register(formbody) // @fastify/formbody, for urlencoded forms
 * app.addHook('preHandler', csrf())
 * app.post('/profile', async (request) => `Saved ${(request.body as { name: string }).name}`)
 * ```
 */
export function csrf(options: CsrfOptions = {}): preHandlerAsyncHookHandler {
  const resolved = resolveCsrfOptions(options)
  return async (request) => {
    await checkCsrf(
      {
        method: request.method,
        origin: `${request.protocol}://${request.host}`,
        header: (name) => {
          const value = request.headers[name]
          return Array.isArray(value) ? value[0] : value
        },
        formField: (field) => bodyField(request, field),
      },
      request.session,
      resolved,
    )
  }
}
