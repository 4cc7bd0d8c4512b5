import type { Middleware } from 'koa'
import { CsrfError } from '../errors.js'
import { checkCsrf, resolveCsrfOptions, type CsrfOptions } from '../http/csrf.js'
import { formBodyFieldOf, readUnparsedForm } from '../http/form-field.js'

/** `ctx.request` with the `body` that body parsers (`@koa/bodyparser`, `koa-body`) set. */
interface ParsedRequest {
  body?: unknown
}

/**
 * Koa middleware (Koa 2 and 3) that protects the middleware after it against CSRF: unsafe
 * requests (everything but GET, HEAD, OPTIONS and TRACE) must carry the session's token (plain or
 * masked) in the `X-CSRF-Token` header or the `csrf_token` form field, and over HTTPS come from
 * the request's own origin (or a trusted one). Mount it after `session(factory)` and after your
 * body parser, if any.
 *
 * @remarks
 * A refused request is thrown as a {@link CsrfError} (`code` `ERR_CSRF_REJECTED`, `reason`)
 * through `ctx.throw(403, error)`, so Koa answers 403 with the error's message and an outer
 * `try`/`catch` middleware can answer otherwise. The token field is read from
 * `ctx.request.body` when a body parser set it; when none did, the middleware reads an
 * `application/x-www-form-urlencoded` body of an unsafe request itself (up to 1 MiB; a larger
 * one is answered 413 with a {@link FormTooLargeError}, never handed on as an empty form, as soon
 * as its size shows; the error's `headers` close the connection) and
 * sets `ctx.request.body` to its fields (a string per field, an array for a repeated one), so your
 * middleware reads the form there (and a body parser mounted later skips the request). Multipart
 * forms need a parser mounted before it. The query string is never read. The request's own
 * origin is `ctx.protocol` and `ctx.host`, which follow `app.proxy`: behind a TLS-terminating
 * proxy, set it so that HTTPS is recognised.
 *
 * @param options safe methods, header and field names, trusted origins
 * @returns the middleware
 * @throws {@link ConfigError} for invalid options
 *
 * @example
 * ```ts
 * app.use(session(factory))
 * app.use(csrf())
 * app.use((ctx) => {
 *   ctx.body = `Saved ${String((ctx.request as { body?: { name?: string } }).body?.name)}`
 * })
 * ```
 */
export function csrf(options: CsrfOptions = {}): Middleware {
  const resolved = resolveCsrfOptions(options)
  return async (ctx, next) => {
    const request = ctx.request as ParsedRequest
    try {
      if (!resolved.safeMethods.has(ctx.method.toUpperCase())) {
        const form = await readUnparsedForm(ctx.req, request.body)
        if (form !== undefined) request.body = form
      }
      await checkCsrf(
        {
          method: ctx.method,
          // Not ctx.origin: Koa 3 made it the request's Origin header (Koa 2: protocol://host).
          origin: `${ctx.protocol}://${ctx.host}`,
          header: (name) => {
            const value = ctx.req.headers[name]
            return Array.isArray(value) ? value[0] : value
          },
          formField: (field) => formBodyFieldOf(ctx.get('content-type'), request.body, field),
        },
        ctx.session,
        resolved,
      )
    } catch (error) {
      if (error instanceof CsrfError) ctx.throw(403, error)
      throw error
    }
    await next()
  }
}
