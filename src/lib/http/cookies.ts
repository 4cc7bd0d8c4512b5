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
 * @returns the cookie value, or undefined when absent or empty
 */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (header === undefined || header === null || header === '') return undefined
  // Cheap pre-check: most requests without our cookie never pay for a full parse.
  if (!header.includes(name)) return undefined
  let value = parseCookie(header)[name]
  // RFC 6265 allows a value wrapped in double quotes; the quotes are not part of it.
  if (value !== undefined && value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1)
  }
  // An empty value is what a deleted cookie leaves behind: treat it as absent.
  return value === '' ? undefined : value
}

/** A session cookie as a request sent it: one cookie, numbered chunks, or both. */
export interface ChunkedCookie {
  /** The value of the cookie `name` itself, if sent. */
  readonly value: string | undefined
  /**
   * The values of `name.0`, `name.1`, ... by index, `undefined` where an index is missing;
   * empty when no chunk was sent.
   */
  readonly chunks: readonly (string | undefined)[]
}

const NO_COOKIE: ChunkedCookie = { value: undefined, chunks: [] }

/** Removes RFC 6265 double quotes; an empty value (a deleted cookie) counts as absent. */
function cookieValue(raw: string | undefined): string | undefined {
  const value =
    raw !== undefined && raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')
      ? raw.slice(1, -1)
      : raw
  return value === '' ? undefined : value
}

const CHUNK_INDEX = /^(?:0|[1-9][0-9]{0,2})$/

/**
 * Reads a cookie and its numbered chunks (`name.0`, `name.1`, ...) from a `Cookie` request
 * header, parsing the header once, as {@link readCookie} does: malformed headers never throw, the
 * first of repeated names wins, quotes are removed and an empty value counts as absent.
 *
 * @param header the raw `Cookie` header, if any
 * @param name the cookie name
 * @param maxChunks chunk indexes from this one up are ignored; 0 reads no chunks at all
 * @returns the cookie's value and its chunks
 */
export function readChunkedCookie(
  header: string | null | undefined,
  name: string,
  maxChunks: number,
): ChunkedCookie {
  if (header === undefined || header === null || !header.includes(name)) return NO_COOKIE
  const cookies = parseCookie(header)
  const value = cookieValue(cookies[name])
  if (maxChunks <= 0) return value === undefined ? NO_COOKIE : { value, chunks: [] }
  const prefix = `${name}.`
  const chunks: (string | undefined)[] = []
  for (const key in cookies) {
    if (!key.startsWith(prefix)) continue
    const index = key.slice(prefix.length)
    if (!CHUNK_INDEX.test(index) || Number(index) >= maxChunks) continue
    chunks[Number(index)] = cookieValue(cookies[key])
  }
  // Array.from fills the holes left by missing indexes with undefined.
  return { value, chunks: chunks.length === 0 ? chunks : Array.from(chunks) }
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
  // `Expires` has a resolution of one second: the last string is reused within the second.
  const expiresSecond = Math.floor((nowMs + maxAgeSeconds * 1000) / 1000)
  if (expiresSecond !== lastLifetime.second || maxAgeSeconds !== lastLifetime.maxAge) {
    lastLifetime.second = expiresSecond
    lastLifetime.maxAge = maxAgeSeconds
    lastLifetime.text = `; Max-Age=${maxAgeSeconds}; Expires=${new Date(expiresSecond * 1000).toUTCString()}`
  }
  return lastLifetime.text
}

const lastLifetime = { second: Number.NaN, maxAge: Number.NaN, text: '' }

/** The `Set-Cookie` lifetime that makes a browser delete a cookie at once. */
export const EXPIRED_LIFETIME = '; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
