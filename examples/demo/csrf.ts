import { checkCsrf, CsrfError, resolveCsrfOptions, type CsrfOptions } from 'cloakroom'
import type { MiddlewareHandler } from 'hono'

/**
 * Hono middleware that refuses unsafe requests without the session's CSRF token (the
 * `csrf_token` form field or the `X-CSRF-Token` header), using Cloakroom's core check. Runs after
 * `session(factory)`. The form is parsed with `c.req.parseBody()`, which Hono caches, so the
 * handler reads it again for free.
 *
 * @param options the CSRF options (field and header names, trusted origins)
 * @returns the middleware
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
            const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
            if (type !== 'application/x-www-form-urlencoded' && type !== 'multipart/form-data') {
              return undefined
            }
            const value = (await c.req.parseBody())[field]
            return typeof value === 'string' ? value : undefined
          },
        },
        c.get('session'),
        resolved,
      )
    } catch (error) {
      if (!(error instanceof CsrfError)) throw error
      return c.text(
        'Forbidden: the form is out of date or came from another site. Go back, reload the page and try again.',
        403,
      )
    }
    await next()
    return undefined
  }
}
