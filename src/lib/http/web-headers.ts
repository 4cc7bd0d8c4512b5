import { applySessionCookies, type HeaderCarrier } from './carrier.js'

/**
 * Adapts Web `Headers` to the {@link HeaderCarrier} seam.
 *
 * @param headers the headers
 * @returns their header carrier
 */
function webHeaderCarrier(headers: Headers): HeaderCarrier {
  return {
    get: (name) => headers.get(name) ?? undefined,
    set: (name, value) => headers.set(name, value),
    append: (name, value) => headers.append(name, value),
  }
}

/**
 * The body of a `@hono/node-server` response, read without materializing it. That server swaps
 * the global `Response` for a lightweight one that keeps its body in a `cache` symbol and
 * writes a string, bytes or a Blob straight out, as often as the response is sent; reading `.body` instead would build a real `Response` and
 * a stream that the server then pumps chunk by chunk, which costs more than the rest of a
 * request. Anything else (another runtime, a streamed body, a future change of that internal
 * shape) gives undefined, and the copy reads `.body`.
 */
function cachedBodyOf(response: Response): BodyInit | null | undefined {
  for (const symbol of Object.getOwnPropertySymbols(response)) {
    if (symbol.description !== 'cache') continue
    const cache: unknown = (response as unknown as Record<symbol, unknown>)[symbol]
    if (!Array.isArray(cache) || cache.length !== 3 || typeof cache[0] !== 'number')
      return undefined
    const body: unknown = cache[1]
    return body === null ||
      typeof body === 'string' ||
      body instanceof Uint8Array ||
      body instanceof Blob
      ? (body as BodyInit | null)
      : undefined
  }
  return undefined
}

/**
 * Library-internal: a copy of `response` that carries the session cookies. A copy, because the
 * headers of some responses are immutable (`Response.redirect()`, `fetch()`), and because a
 * response object may be shared between requests, where added cookies would leak.
 *
 * @remarks
 * A response whose status a `Response` cannot be constructed with (`Response.error()`, a
 * runtime's `101` WebSocket upgrade) cannot be copied: it is returned as it is, without the
 * cookies.
 *
 * @param response the application's response
 * @param cookies the `Set-Cookie` values
 * @returns the response to send
 */
export function responseWithCookies(response: Response, cookies: readonly string[]): Response {
  const status = response.status
  if (status < 200 || status > 599) return response
  const headers = new Headers(response.headers)
  applySessionCookies(webHeaderCarrier(headers), cookies)
  const cached = cachedBodyOf(response)
  // @hono/node-server writes no status text for such a response, so none is lost.
  if (cached !== undefined) return new Response(cached, { status, headers })
  return new Response(response.body, { status, statusText: response.statusText, headers })
}

/**
 * Library-internal: releases the body of a response that will not be sent (an upstream fetch,
 * a file stream). A `@hono/node-server` response with a cached body holds nothing to release,
 * and may be sent again by a later request: it is left alone.
 *
 * @param response the response dropped
 */
export function releaseBody(response: Response): void {
  if (cachedBodyOf(response) !== undefined) return
  response.body?.cancel().catch(() => {})
}
