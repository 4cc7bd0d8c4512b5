import { applySessionCookies, type HeaderCarrier } from './carrier.js'

/**
 * Library-internal: adapts Web `Headers` to the {@link HeaderCarrier} seam.
 *
 * @param headers the headers
 * @returns their header carrier
 */
export function webHeaderCarrier(headers: Headers): HeaderCarrier {
  return {
    get: (name) => headers.get(name) ?? undefined,
    set: (name, value) => headers.set(name, value),
    append: (name, value) => headers.append(name, value),
  }
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
  if (response.status < 200 || response.status > 599) return response
  const headers = new Headers(response.headers)
  applySessionCookies(webHeaderCarrier(headers), cookies)
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  })
}
