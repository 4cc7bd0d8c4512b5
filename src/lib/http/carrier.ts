import { CloakroomError } from '../errors.js'

/**
 * The adapter-neutral view of a response's headers: all an adapter implements to carry session
 * cookies.
 */
export interface HeaderCarrier {
  /**
   * @param name a header name, lower case
   * @returns the header's current value, joined with `, ` when repeated, or undefined
   */
  get(name: string): string | undefined
  /**
   * @param name a header name, lower case
   * @param value the value replacing any current one
   */
  set(name: string, value: string): void
  /**
   * @param name a header name, lower case
   * @param value a value added after any current one (used for `set-cookie`)
   */
  append(name: string, value: string): void
}

const CACHE_CONTROL = 'private, no-store'

/**
 * Library-internal: a `node:http`-style header value (`getHeader`) as {@link HeaderCarrier.get}
 * returns it.
 *
 * @param value the value, as stored on the response
 * @returns the value as text, repeated values joined with `, `, or undefined when absent
 */
export function headerText(
  value: number | string | readonly string[] | undefined,
): string | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value.join(', ') : String(value)
}

/**
 * Adds the session's `Set-Cookie` headers, plus `Vary: Cookie` and `Cache-Control: private,
 * no-store` so that no shared cache stores a response carrying a session. A `Cache-Control`
 * the app set that already says `no-store` keeps its other directives, with `private` added and
 * `public` dropped; any other is replaced.
 *
 * @param headers the response headers
 * @param cookies the `Set-Cookie` values returned by the factory's `commit`
 */
export function applySessionCookies(headers: HeaderCarrier, cookies: readonly string[]): void {
  if (cookies.length === 0) return
  for (const cookie of cookies) headers.append('set-cookie', cookie)
  keepFromSharedCaches(headers)
}

/**
 * Library-internal: the `Vary` and `Cache-Control` part of {@link applySessionCookies}, for an
 * adapter that must apply it again when the headers are written (a framework hook that runs after
 * the adapter's may have replaced them). Applying it twice changes nothing more.
 *
 * @param headers the response headers
 */
export function keepFromSharedCaches(headers: HeaderCarrier): void {
  const vary = headers.get('vary')
  if (vary === undefined || vary.trim() === '') headers.set('vary', 'Cookie')
  else if (!vary.split(',').some((token) => ['cookie', '*'].includes(token.trim().toLowerCase()))) {
    headers.set('vary', `${vary}, Cookie`)
  }
  const cacheControl = headers.get('cache-control')
  if (cacheControl === undefined || !/(^|[\s,])no-store($|[\s,])/i.test(cacheControl)) {
    headers.set('cache-control', CACHE_CONTROL)
  } else if (!/(^|[\s,])private($|[\s,])/i.test(cacheControl)) {
    // `public` would contradict `private`: the app's other directives stay.
    const kept = cacheControl
      .split(',')
      .map((directive) => directive.trim())
      .filter((directive) => directive !== '' && directive.toLowerCase() !== 'public')
    headers.set('cache-control', ['private', ...kept].join(', '))
  }
}

/**
 * The HTTP status an adapter answers when loading or committing a session fails: 503 when the
 * store is unavailable (retrying later may work), 500 otherwise.
 *
 * @param error what was thrown
 * @returns the status code
 */
export function statusForError(error: unknown): 500 | 503 {
  return error instanceof CloakroomError && error.code === 'ERR_STORE_UNAVAILABLE' ? 503 : 500
}
