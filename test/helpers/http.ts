import assert from 'node:assert/strict'
import {
  request as httpRequest,
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'

/** A real server on an ephemeral port. */
export interface TestServer {
  readonly url: string
  close(): Promise<void>
}

/** Starts a `node:http` server on 127.0.0.1 with an ephemeral port. */
export async function startServer(
  listener: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
): Promise<TestServer> {
  const server = createServer((req, res) => void listener(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** What a raw request returned. */
export interface RawResponse {
  readonly status: number
  readonly headers: IncomingMessage['headers']
  readonly setCookies: string[]
  readonly body: string
}

/**
 * Sends a request with exactly the headers given (raw strings, repeated headers allowed), which
 * `fetch` would normalise or refuse.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: [string, string][] } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // Raw header arrays get no default headers from Node, so send Host ourselves.
    const flat = [['host', new URL(url).host], ...(options.headers ?? [])].flat()
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: flat }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          setCookies: res.headers['set-cookie'] ?? [],
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      )
      res.on('error', reject)
      res.on('close', () => {
        if (!res.complete) reject(new Error('aborted: the server cut the response off'))
      })
    })
    req.on('error', reject)
    req.end()
  })
}

/** A minimal cookie jar: remembers cookies from Set-Cookie and sends them back. */
export class CookieJar {
  readonly #cookies = new Map<string, string>()

  /** The `Cookie` header to send, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name)
  }

  /** Applies the response's Set-Cookie headers (Max-Age=0 deletes). */
  update(setCookies: readonly string[]): void {
    for (const header of setCookies) {
      const [pair] = header.split(';')
      const index = pair!.indexOf('=')
      const name = pair!.slice(0, index).trim()
      const value = pair!.slice(index + 1).trim()
      if (/;\s*max-age=0/i.test(header) || value === '') this.#cookies.delete(name)
      else this.#cookies.set(name, value)
    }
  }

  /** Requests `url` with the jar's cookies and stores what comes back. */
  async fetch(url: string, options: { method?: string } = {}): Promise<RawResponse> {
    const cookie = this.header()
    const response = await rawRequest(url, {
      ...options,
      headers: cookie === undefined ? [] : [['cookie', cookie]],
    })
    this.update(response.setCookies)
    return response
  }
}

/**
 * Starts a POST that declares `declaredBytes` of body (none: a chunked body), sends `sentBytes`
 * of it and then waits without ending it: resolves with the response the server gives before
 * the body is complete. The request is destroyed afterwards.
 */
export function unfinishedPost(
  url: string,
  headers: Record<string, string>,
  declaredBytes: number | undefined,
  sentBytes: number,
): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const length = declaredBytes === undefined ? {} : { 'content-length': String(declaredBytes) }
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, ...length } })
    const timer = setTimeout(() => {
      req.destroy()
      reject(new Error('no response within 5 s: the server waits for the whole body'))
    }, 5000)
    req.on('response', (res) => {
      clearTimeout(timer)
      resolve({ status: res.statusCode ?? 0, connection: res.headers.connection })
      res.resume()
      req.destroy()
    })
    req.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    req.write(Buffer.alloc(sentBytes, 'x'))
  })
}

/**
 * Asserts that `url` answers 413 with `Connection: close` before an oversized urlencoded body
 * has arrived: one that declares its size, and a chunked one that shows it as it comes.
 */
export async function assertOversizedFormRefusedEarly(
  url: string,
  headers: Record<string, string>,
): Promise<void> {
  const form = { ...headers, 'content-type': 'application/x-www-form-urlencoded' }
  for (const [declared, sent] of [
    [2 * 1024 * 1024, 64],
    [undefined, 1024 * 1024 + 64],
  ] as const) {
    const response = await unfinishedPost(url, form, declared, sent)
    assert.deepEqual(response, { status: 413, connection: 'close' }, String(declared))
  }
}
