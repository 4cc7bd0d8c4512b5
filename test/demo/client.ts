/** A small HTTP client for the demo's tests: a cookie jar, forms and CSRF tokens, no redirects followed. */

/** What one request returned. */
export interface DemoResponse {
  readonly status: number
  /** The `Location` header of a redirect. */
  readonly location: string | undefined
  readonly setCookies: string[]
  readonly headers: Headers
  readonly body: string
}

/** Reads the first `csrf_token` hidden field of a page. */
export function csrfTokenIn(body: string): string {
  const match = /name="csrf_token" value="([^"]+)"/.exec(body)
  if (match === null) throw new Error('the page has no csrf_token field')
  return match[1]!
}

/** Plain text of a page: tags dropped, entities of the escaper decoded, spaces collapsed. */
export function textOf(body: string): string {
  return body
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
}

/** One visitor: remembers cookies between requests like a browser (ignoring attributes). */
export class DemoClient {
  readonly #base: string
  readonly #cookies = new Map<string, string>()

  constructor(base: string) {
    this.#base = base
  }

  /** The `Cookie` header this client sends. */
  cookieHeader(): string | undefined {
    if (this.#cookies.size === 0) return undefined
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  /** A cookie's value. */
  cookie(name: string): string | undefined {
    return this.#cookies.get(name)
  }

  async get(path: string): Promise<DemoResponse> {
    return this.request(path, { method: 'GET' })
  }

  /** Posts a urlencoded form. */
  async post(path: string, form: Record<string, string>): Promise<DemoResponse> {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    })
  }

  /** Gets `page` for a CSRF token, then posts `form` with it to `path`. */
  async submit(
    page: string,
    path: string,
    form: Record<string, string> = {},
  ): Promise<DemoResponse> {
    const token = csrfTokenIn((await this.get(page)).body)
    return this.post(path, { ...form, csrf_token: token })
  }

  async request(
    path: string,
    init: RequestInit & { headers?: Record<string, string> },
  ): Promise<DemoResponse> {
    const cookie = this.cookieHeader()
    const response = await fetch(new URL(path, this.#base), {
      ...init,
      redirect: 'manual',
      headers: { ...init.headers, ...(cookie === undefined ? {} : { cookie }) },
    })
    const setCookies = response.headers.getSetCookie()
    for (const header of setCookies) {
      const [pair] = header.split(';')
      const index = pair!.indexOf('=')
      const name = pair!.slice(0, index).trim()
      const value = pair!.slice(index + 1).trim()
      if (
        /;\s*max-age=0/i.test(header) ||
        /;\s*expires=Thu, 01 Jan 1970/i.test(header) ||
        value === ''
      ) {
        this.#cookies.delete(name)
      } else {
        this.#cookies.set(name, value)
      }
    }
    return {
      status: response.status,
      location: response.headers.get('location') ?? undefined,
      setCookies,
      headers: response.headers,
      body: await response.text(),
    }
  }
}

/**
 * Holds callers until `count` of them have arrived, proving they overlap; fails after
 * `timeoutMs` instead of hanging.
 */
export function createBarrier(count: number, timeoutMs = 5000): () => Promise<void> {
  let arrived = 0
  let release!: () => void
  const all = new Promise<void>((resolve) => (release = resolve))
  return async () => {
    arrived += 1
    if (arrived === count) release()
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`only ${arrived} of ${count} requests arrived`)),
        timeoutMs,
      )
    })
    try {
      await Promise.race([all, late])
    } finally {
      clearTimeout(timer)
    }
  }
}
