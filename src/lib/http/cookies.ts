import { parseCookie, stringifySetCookie } from 'cookie'

/** The attributes of a session cookie, validated once. */
export interface CookieAttributes {
  readonly path: string
  readonly domain?: string | undefined
  readonly secure: boolean
  readonly httpOnly: boolean
  readonly sameSite: 'lax' | 'strict' | 'none'
  readonly partitioned?: boolean | undefined
}

/**
 * Reads one cookie from a `Cookie` request header. Malformed headers never throw; when a name
 * appears twice, the first occurrence wins (browsers send the most specific path first).
 *
 * @param header the raw `Cookie` header, if any
 * @param name the cookie name
 * @returns the cookie value, or undefined when absent
 */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (header === undefined || header === null || header === '') return undefined
  // Cheap pre-check: most requests without our cookie never pay for a full parse.
  if (!header.includes(name)) return undefined
  return parseCookie(header)[name]
}

/**
 * Builds the constant tail of a `Set-Cookie` header (`; Path=/; HttpOnly; ...`) with the `cookie`
 * package, which also validates the name, path and domain.
 *
 * @param name the cookie name
 * @param attributes the cookie attributes
 * @returns the attribute string, starting with `; `
 * @throws TypeError from the `cookie` package when the name or an attribute is invalid
 */
export function formatCookieAttributes(name: string, attributes: CookieAttributes): string {
  const header = stringifySetCookie(name, 'x', {
    path: attributes.path,
    ...(attributes.domain === undefined ? {} : { domain: attributes.domain }),
    secure: attributes.secure,
    httpOnly: attributes.httpOnly,
    sameSite: attributes.sameSite,
    partitioned: attributes.partitioned === true,
  })
  return header.slice(`${name}=x`.length)
}

/**
 * @param maxAgeSeconds the cookie lifetime, or undefined for a browser-session cookie
 * @param nowMs the current time
 * @returns `; Max-Age=N; Expires=...`, or an empty string
 */
export function formatLifetime(maxAgeSeconds: number | undefined, nowMs: number): string {
  if (maxAgeSeconds === undefined) return ''
  return `; Max-Age=${maxAgeSeconds}; Expires=${new Date(nowMs + maxAgeSeconds * 1000).toUTCString()}`
}

/** The `Set-Cookie` lifetime that makes a browser delete a cookie at once. */
export const EXPIRED_LIFETIME = '; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
