import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  createEncryptedCookieFactory,
  createMemoryStore,
  createStoreFactory,
  type DefaultSessionData,
  type Session,
} from 'cloakroom'
import {
  signedCookieSuiteFactory,
  type AdapterSuiteData,
  type AdapterSuiteFactory,
  type AdapterSuiteHarness,
  type AdapterSuiteReply,
} from 'cloakroom/testing'

/** Every factory the adapter suite runs with in this repository. */
export const suiteFactories: readonly AdapterSuiteFactory[] = [
  signedCookieSuiteFactory,
  {
    name: 'encrypted cookie',
    create: ({ setOnException }) =>
      createEncryptedCookieFactory<AdapterSuiteData>({
        secrets: randomBytes(32).toString('base64url'),
        setOnException,
      }),
  },
  {
    name: 'memory store',
    create: ({ setOnException }) =>
      createStoreFactory<AdapterSuiteData>({ store: createMemoryStore(), setOnException }),
  },
]

/** Adds headers and a text content type unless the reply has one. */
function replyHeaders(reply: AdapterSuiteReply): Record<string, string> {
  const headers: Record<string, string> = { ...reply.headers }
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'text/plain; charset=utf-8'
  }
  return headers
}

/**
 * Sends a suite reply on a plain `ServerResponse` (node adapter), using `writeHead` with a
 * headers object so that the adapter must merge them.
 *
 * @param res the response
 * @param reply what the route answered
 */
export async function sendNodeReply(res: ServerResponse, reply: AdapterSuiteReply): Promise<void> {
  if (reply.redirect !== undefined) {
    res.writeHead(302, { location: reply.redirect })
    res.end()
    return
  }
  if (reply.stream !== undefined) {
    res.writeHead(reply.status ?? 200, replyHeaders(reply))
    await pipeline(Readable.from(reply.stream()), res)
    return
  }
  res.writeHead(reply.status ?? 200, replyHeaders(reply))
  res.end(reply.body ?? '')
}

/**
 * A lazily pulled Web stream of the reply's chunks.
 *
 * @param chunks the chunks
 * @returns the stream
 */
export function webStream(chunks: AsyncIterable<string>): ReadableStream<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]()
  const encoder = new TextEncoder()
  return new ReadableStream({
    async pull(controller) {
      const next = await iterator.next()
      if (next.done === true) controller.close()
      else controller.enqueue(encoder.encode(next.value))
    },
  })
}

/**
 * Turns a suite reply into a Web `Response`.
 *
 * @param request the request (redirects are made absolute against its URL)
 * @param reply what the route answered
 * @returns the response; redirects come from `Response.redirect`, whose headers are immutable
 */
export function webReply(request: Request, reply: AdapterSuiteReply): Response {
  if (reply.redirect !== undefined)
    return Response.redirect(new URL(reply.redirect, request.url), 302)
  const init = { status: reply.status ?? 200, headers: replyHeaders(reply) }
  if (reply.stream !== undefined) return new Response(webStream(reply.stream()), init)
  return new Response(reply.body ?? '', init)
}

/**
 * A harness that calls a Web handler in-process (no server).
 *
 * @param handle the `Request` → `Response` function
 * @returns the harness
 */
export function inProcessHarness(
  handle: (request: Request) => Response | Promise<Response>,
): AdapterSuiteHarness {
  return {
    fetch: async (path, init) => handle(new Request(`http://localhost${path}`, init)),
    origin: 'http://localhost',
    close: () => Promise.resolve(),
  }
}

/**
 * Wraps a Web handler as a trusted TLS-terminating proxy would: a request that says
 * `X-Forwarded-Proto: https` reaches the handler with an `https:` URL. Web handlers know the
 * scheme only from the URL, so this is how the suite's HTTPS origin checks reach them.
 *
 * @param handle the `Request` → `Response` function
 * @returns the same function behind the proxy
 */
export function behindProxy<Args extends unknown[]>(
  handle: (request: Request, ...args: Args) => Response | Promise<Response>,
): (request: Request, ...args: Args) => Response | Promise<Response> {
  return (request, ...args) => {
    const url = new URL(request.url)
    if (request.headers.get('x-forwarded-proto') !== 'https' || url.protocol === 'https:') {
      return handle(request, ...args)
    }
    url.protocol = 'https:'
    return handle(new Request(url, request), ...args)
  }
}

/**
 * The string fields of a parsed form, as the suite's form routes take them.
 *
 * @param form a `FormData`, `URLSearchParams` or the parsed body object of a framework
 * @returns the string fields (the first of a repeated field)
 */
export function formFields(form: unknown): Record<string, string> {
  const fields: Record<string, string> = {}
  if (form instanceof FormData || form instanceof URLSearchParams) {
    form.forEach((value: unknown, name: string) => {
      if (typeof value === 'string') fields[name] ??= value
    })
    return fields
  }
  if (typeof form !== 'object' || form === null) return fields
  for (const [name, value] of Object.entries(form as Record<string, unknown>)) {
    const first: unknown = Array.isArray(value) ? value[0] : value
    if (typeof first === 'string') fields[name] = first
  }
  return fields
}

/** @returns a handler for errors the adapters report, silent during the suite */
export function quiet(): () => void {
  return () => {}
}

/**
 * The suite's view of an adapter's session. Adapters type `req.session` with the app-wide
 * `SessionData`; the suite's routes use their own data type.
 *
 * @param session the session the adapter handed out
 * @returns the same session, typed with the suite's data
 */
export function suiteSession(session: Session<DefaultSessionData>): Session<AdapterSuiteData> {
  return session as unknown as Session<AdapterSuiteData>
}
