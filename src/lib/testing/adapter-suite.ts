import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { CloakroomError, SessionCommittedError, StoreUnavailableError } from '../errors.js'
import type { SessionFactory } from '../factory/session-factory.js'
import { createSignedCookieFactory } from '../factory/signed-cookie-factory.js'
import { maskCsrfToken } from '../session/csrf-token.js'
import type { Session } from '../session/session.js'

/** The session data the adapter suite's routes use. */
export interface AdapterSuiteData {
  /** Incremented by `/write`. */
  count?: number
  /** Changed in place by `/nested`. */
  cart?: { items: string[] }
  /** Set by `/throw`, `/redirect-after-write`, `/stream`, `/set-header` and the form `/form`. */
  mark?: string
  /** Never saved: `/stream` tries to set it after the headers were sent. */
  late?: boolean
}

/**
 * What a suite route answers, in framework-neutral terms; a harness turns it into its
 * framework's response.
 */
export interface AdapterSuiteReply {
  /**
   * The status code.
   * @defaultValue 200
   */
  readonly status?: number
  /**
   * Headers the application sets.
   * @defaultValue none
   */
  readonly headers?: Readonly<Record<string, string>>
  /**
   * A whole text body (`text/plain`).
   * @defaultValue empty
   */
  readonly body?: string
  /**
   * Answer a 302 redirect to this path instead of a body.
   * @defaultValue undefined
   */
  readonly redirect?: string
  /**
   * Stream the body chunk by chunk instead (pulled lazily, so later chunks are made after the
   * headers were sent).
   * @defaultValue undefined
   */
  readonly stream?: () => AsyncIterable<string>
}

/** A suite route: reads and changes the session, and answers (or throws). */
export type AdapterSuiteRoute = (
  session: Session<AdapterSuiteData>,
) => AdapterSuiteReply | Promise<AdapterSuiteReply>

/** The suite's routes, by path (`/read`, `/write`, ...): mount each as a GET route. */
export type AdapterSuiteRoutes = Readonly<Record<string, AdapterSuiteRoute>>

/**
 * A suite form route: handles a POST that passed the adapter's CSRF protection, and answers from
 * the fields of its form (read the way an app on that framework reads them).
 */
export type AdapterSuiteFormRoute = (
  session: Session<AdapterSuiteData>,
  form: Readonly<Record<string, string>>,
) => AdapterSuiteReply | Promise<AdapterSuiteReply>

/**
 * The suite's form routes, by path (`/flash`, `/form`, `/login`): mount each as a POST route
 * behind the adapter's CSRF protection.
 */
export type AdapterSuiteFormRoutes = Readonly<Record<string, AdapterSuiteFormRoute>>

/** A running app the suite sends requests to. */
export interface AdapterSuiteHarness {
  /**
   * Sends one request to the app; redirects must not be followed.
   *
   * @param path the path, such as `/read`
   * @param init the request's method and headers
   * @returns the app's response
   */
  fetch(path: string, init?: RequestInit): Promise<Response>
  /**
   * The origin the app sees for the requests of {@link AdapterSuiteHarness.fetch}, such as
   * `http://127.0.0.1:3000`; the CSRF tests send its `https:` twin as a same-origin `Origin`.
   */
  readonly origin: string
  /** Stops the app (closes its server). */
  close(): Promise<void>
}

/**
 * Builds the framework app under test: the adapter with `factory`, every route of `routes`
 * mounted as a GET route that answers its {@link AdapterSuiteReply}, and every route of `forms`
 * mounted as a POST route behind the adapter's CSRF protection (default options), called with the
 * fields of the request's `application/x-www-form-urlencoded` body as the handler reads them. A
 * thrown route must reach the framework's own error handling (and the adapter's failure marker,
 * if it has one).
 *
 * @remarks
 * The app must take a request with `X-Forwarded-Proto: https` as an HTTPS request (as behind a
 * trusted TLS-terminating proxy: Express `trust proxy`, Fastify `trustProxy`, Koa `app.proxy`, or
 * an `https:` request URL for Web handlers), so that every adapter's origin check can be tested
 * over plain HTTP.
 */
export type MakeAdapterApp = (
  factory: SessionFactory<AdapterSuiteData>,
  routes: AdapterSuiteRoutes,
  forms: AdapterSuiteFormRoutes,
) => AdapterSuiteHarness | Promise<AdapterSuiteHarness>

/** What the suite asks of the factories it creates. */
export interface AdapterSuiteFactoryOptions {
  /** The factory's `setOnException`; the suite tests both. */
  readonly setOnException: boolean
}

/** A kind of session factory the suite runs with. */
export interface AdapterSuiteFactory {
  /** Shown in the test names, such as `signed cookie`. */
  readonly name: string
  /**
   * @param options what the factory must be configured with
   * @returns a fresh factory
   */
  create(
    options: AdapterSuiteFactoryOptions,
  ): SessionFactory<AdapterSuiteData> | Promise<SessionFactory<AdapterSuiteData>>
}

/** Options of {@link runAdapterSuite}. */
export interface AdapterSuiteOptions {
  /**
   * The factories to run every test with.
   * @defaultValue a signed-cookie factory with a random secret
   */
  readonly factories?: readonly AdapterSuiteFactory[]
}

/** The signed-cookie factory, with a random secret per factory. */
export const signedCookieSuiteFactory: AdapterSuiteFactory = {
  name: 'signed cookie',
  create: ({ setOnException }) =>
    createSignedCookieFactory<AdapterSuiteData>({
      secrets: randomBytes(32).toString('base64url'),
      setOnException,
    }),
}

/**
 * Serves a `node:http` listener (or server) on an ephemeral port of 127.0.0.1 and returns a
 * harness over real HTTP.
 *
 * @param app a request listener, or a server that is not listening yet
 * @returns the harness
 */
export async function listenHarness(
  app: ((req: IncomingMessage, res: ServerResponse) => unknown) | Server,
): Promise<AdapterSuiteHarness> {
  const server = typeof app === 'function' ? createServer((req, res) => void app(req, res)) : app
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    fetch: (path, init) => fetch(`http://127.0.0.1:${port}${path}`, init),
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      }),
  }
}

/**
 * Headers a route sets on a response that a failed commit replaces: none of them may reach the
 * error answer (the app's cookie belongs to a change that was not saved, and the error must not
 * be cached).
 */
const DROPPED_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'public, max-age=3600',
  'set-cookie': 'remember_me=u1; Path=/',
  'x-dropped': 'yes',
}

/** Checks that a failed commit's answer carries none of {@link DROPPED_HEADERS}. */
async function assertDropped(response: Response, label: string): Promise<void> {
  assert.deepEqual(response.headers.getSetCookie(), [], label)
  assert.equal(response.headers.get('x-dropped'), null, label)
  assert.match(response.headers.get('cache-control') ?? '', /no-store/, label)
  assert.doesNotMatch(response.headers.get('cache-control') ?? '', /public/, label)
  assert.doesNotMatch(await response.text(), /must not be sent/, label)
}

/** The routes, plus the sessions they saw. */
function createRoutes(): {
  routes: AdapterSuiteRoutes
  forms: AdapterSuiteFormRoutes
  seen: Session<AdapterSuiteData>[]
} {
  const seen: Session<AdapterSuiteData>[] = []
  const read = (session: Session<AdapterSuiteData>): AdapterSuiteReply => ({
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ isNew: session.isNew, data: session.toJSON() }),
  })
  const routes: AdapterSuiteRoutes = {
    '/untouched': (session) => {
      seen.push(session)
      return { body: 'untouched' }
    },
    '/read': (session) => {
      seen.push(session)
      return read(session)
    },
    '/write': async (session) => {
      seen.push(session)
      await Promise.resolve()
      session.set('count', (session.get('count') ?? 0) + 1)
      session.set('mark', 'written')
      return read(session)
    },
    '/nested': (session) => {
      session.setDefault('cart', { items: [] }).items.push('x')
      return { body: 'nested' }
    },
    '/too-large': (session) => {
      session.set('mark', 'x'.repeat(5000))
      return { headers: DROPPED_HEADERS, body: 'this body must not be sent' }
    },
    '/write-with-headers': (session) => {
      session.set('mark', 'written')
      return { headers: DROPPED_HEADERS, body: 'this body must not be sent' }
    },
    '/too-large-stream': (session) => {
      session.set('mark', 'x'.repeat(5000))
      return {
        headers: DROPPED_HEADERS,
        stream: async function* () {
          await Promise.resolve()
          yield 'this body must not be sent'
        },
      }
    },
    '/invalidate': (session) => {
      session.invalidate()
      return { body: 'invalidated' }
    },
    '/throw': (session) => {
      session.set('mark', 'thrown')
      throw new Error('adapter suite: deliberate failure')
    },
    '/redirect-after-write': (session) => {
      session.set('mark', 'redirected')
      return { redirect: '/read' }
    },
    '/set-header': (session) => {
      session.set('mark', 'headers')
      return {
        headers: { vary: 'Accept-Encoding', 'cache-control': 'no-store, max-age=0' },
        body: 'headers',
      }
    },
    '/token': (session) => ({ body: session.getCsrfToken() }),
    '/peek-flash': (session) => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(session.peekFlash()),
    }),
    '/messages': (session) => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(session.popFlash()),
    }),
    '/error-messages': (session) => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(session.popFlash('error')),
    }),
    '/stream': (session) => {
      session.set('mark', 'streamed')
      return {
        stream: async function* () {
          yield 'a'
          await Promise.resolve()
          yield 'b'
          let outcome = 'saved'
          try {
            session.set('late', true)
          } catch (error) {
            outcome = error instanceof CloakroomError ? error.code : 'other error'
          }
          yield `|late:${outcome}`
        },
      }
    },
  }
  const forms: AdapterSuiteFormRoutes = {
    '/flash': (session, form) => {
      session.flash(form.message ?? '')
      return { redirect: '/messages' }
    },
    '/flash-error': (session, form) => {
      // An error queue of its own, without duplicates.
      session.flash(form.message ?? '', { queue: 'error', allowDuplicate: false })
      return { redirect: '/error-messages' }
    },
    '/form': (session, form) => {
      session.set('mark', 'posted')
      return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(form) }
    },
    '/login': (session) => {
      session.regenerate()
      return { body: session.getCsrfToken() }
    },
  }
  return { routes, forms, seen }
}

/**
 * The `name=value` part of a response's session cookie, or `previous` when the response set none
 * (server-side sessions keep their cookie across writes).
 */
function cookieOf(response: Response, previous?: string): string {
  const [header] = response.headers.getSetCookie()
  if (header === undefined && previous !== undefined) return previous
  assert.ok(header !== undefined, 'expected a Set-Cookie header')
  return header.slice(0, header.indexOf(';'))
}

interface ReadBody {
  isNew: boolean
  data: AdapterSuiteData
}

async function readBody(response: Response): Promise<ReadBody> {
  assert.equal(response.status, 200)
  return (await response.json()) as ReadBody
}

/** What a POST of the suite sends. */
interface PostInit {
  /** The `Cookie` header. */
  readonly cookie?: string
  /** Sent as an `application/x-www-form-urlencoded` body (as pairs, a field may repeat). */
  readonly form?: Readonly<Record<string, string>> | readonly (readonly [string, string])[]
  /** More request headers. */
  readonly headers?: Readonly<Record<string, string>>
}

/** POSTs to the app, and the app's origin. */
interface FormClient {
  readonly post: (path: string, init?: PostInit) => Promise<Response>
  readonly origin: string
}

/** Runs one test against a fresh app and always closes it. */
async function withApp(
  makeApp: MakeAdapterApp,
  factory: SessionFactory<AdapterSuiteData>,
  test: (
    get: (path: string, cookie?: string) => Promise<Response>,
    seen: Session<AdapterSuiteData>[],
    client: FormClient,
  ) => Promise<void>,
): Promise<void> {
  const { routes, forms, seen } = createRoutes()
  const harness = await makeApp(factory, routes, forms)
  try {
    await test(
      (path, cookie) =>
        harness.fetch(path, {
          redirect: 'manual',
          headers: cookie === undefined ? {} : { cookie },
        }),
      seen,
      {
        origin: harness.origin,
        post: (path, init = {}) => {
          const headers: Record<string, string> = { ...init.headers }
          if (init.cookie !== undefined) headers.cookie = init.cookie
          if (init.form !== undefined) {
            headers['content-type'] = 'application/x-www-form-urlencoded'
          }
          return harness.fetch(path, {
            method: 'POST',
            redirect: 'manual',
            headers,
            ...(init.form === undefined
              ? {}
              : { body: new URLSearchParams(init.form as Record<string, string>).toString() }),
          })
        },
      },
    )
  } finally {
    await harness.close()
  }
}

/** Starts a session with a CSRF token: its cookie and its token. */
async function tokenSession(
  get: (path: string, cookie?: string) => Promise<Response>,
): Promise<{ cookie: string; token: string }> {
  const response = await get('/token')
  assert.equal(response.status, 200)
  return { cookie: cookieOf(response), token: await response.text() }
}

/** Asserts the status of a response (and drains its body), with a label. */
async function assertStatus(response: Response, status: number, label: string): Promise<void> {
  const body = await response.text()
  assert.equal(response.status, status, `${label}: ${body.slice(0, 200)}`)
}

/** A factory whose store is down: `load` or `commit` throws {@link StoreUnavailableError}. */
function unavailableFactory(
  base: SessionFactory<AdapterSuiteData>,
  during: 'load' | 'load (rejected)' | 'commit',
): SessionFactory<AdapterSuiteData> {
  const outage = (): StoreUnavailableError =>
    new StoreUnavailableError(during, { cause: new Error('connect ECONNREFUSED') })
  return {
    cookieName: base.cookieName,
    load: (header) => {
      if (during === 'load') throw outage()
      if (during === 'load (rejected)') return Promise.reject(outage())
      return base.load(header)
    },
    commit: (session, options) => {
      if (during !== 'commit') return base.commit(session, options)
      const fail = async (): Promise<never> => {
        await base.commit(session, options)
        throw outage()
      }
      return fail()
    },
  }
}

/**
 * Runs Cloakroom's adapter behaviour suite (with `node:test`) against one framework adapter: the
 * same requests, over the app that `makeApp` builds, must get the same answers from every
 * adapter.
 *
 * @remarks
 * Covered: no cookie for an untouched or read-only new session; exactly one `Set-Cookie` after
 * writes; in-place (nested) changes saved; `invalidate()` deletes the cookie; a thrown route
 * answers 500 and saves only with `setOnException`; data written before a redirect is there on
 * the next request; `Vary: Cookie` and `Cache-Control` on responses with a cookie (merged with
 * the application's); hostile `Cookie` headers answered 200 with a fresh session; a store outage
 * answered 503; a session too large to save answers 500, streamed reply or not, and the server
 * goes on serving; the answer to a failed save carries none of the handler's headers (its own
 * cookies, a `Cache-Control: public`); writing to the session once the headers were sent throws
 * {@link SessionCommittedError} instead of losing the change silently; a flash message set by a
 * POST shows once after the redirect (Pyramid's peek, peek, pop, nothing); and the CSRF
 * protection accepts the token by header or form field, plain or masked, leaves the form to the
 * handler, refuses (403) a missing, wrong or foreign token, the query string, a cross-origin
 * `Origin` or `Referer` over HTTPS and `Sec-Fetch-Site: cross-site`, and follows `regenerate()`.
 *
 * @param name the adapter's name, shown in the test names
 * @param makeApp builds the app under test for one factory
 * @param options the factories to run with
 *
 * @example
 * ```ts
 * import { runAdapterSuite, listenHarness } from 'cloakroom/testing'
 * runAdapterSuite('my framework', (factory, routes, forms) =>
 *   listenHarness(buildMyApp(factory, routes, forms)),
 * )
 * ```
 */
export function runAdapterSuite(
  name: string,
  makeApp: MakeAdapterApp,
  options: AdapterSuiteOptions = {},
): void {
  const factories = options.factories ?? [signedCookieSuiteFactory]

  void describe(`runAdapterSuite: ${name}`, () => {
    for (const kind of factories) {
      const make = (setOnException = true): Promise<SessionFactory<AdapterSuiteData>> =>
        Promise.resolve(kind.create({ setOnException }))

      describe(`with the ${kind.name} factory`, () => {
        it('sets no cookie for an untouched or read-only new session', async () => {
          await withApp(makeApp, await make(), async (get) => {
            const untouched = await get('/untouched')
            assert.equal(untouched.status, 200)
            assert.equal(await untouched.text(), 'untouched')
            assert.deepEqual(untouched.headers.getSetCookie(), [])
            const read = await get('/read')
            assert.deepEqual(read.headers.getSetCookie(), [])
            assert.deepEqual(await readBody(read), { isNew: true, data: {} })
          })
        })

        it('sends exactly one Set-Cookie after writes, and the data comes back', async () => {
          await withApp(makeApp, await make(), async (get) => {
            const first = await get('/write')
            assert.equal(first.headers.getSetCookie().length, 1)
            const second = await get('/write', cookieOf(first))
            assert.ok(second.headers.getSetCookie().length <= 1)
            const read = await readBody(await get('/read', cookieOf(second, cookieOf(first))))
            assert.deepEqual(read, { isNew: false, data: { count: 2, mark: 'written' } })
          })
        })

        it('saves a value changed in place', async () => {
          await withApp(makeApp, await make(), async (get) => {
            const first = await get('/nested')
            assert.equal(first.headers.getSetCookie().length, 1)
            const second = await get('/nested', cookieOf(first))
            assert.ok(second.headers.getSetCookie().length <= 1)
            const read = await readBody(await get('/read', cookieOf(second, cookieOf(first))))
            assert.deepEqual(read.data.cart, { items: ['x', 'x'] })
          })
        })

        it('deletes the cookie on invalidate()', async () => {
          await withApp(makeApp, await make(), async (get) => {
            const written = await get('/write')
            const cookie = cookieOf(written)
            const invalidated = await get('/invalidate', cookie)
            assert.equal(invalidated.status, 200)
            const headers = invalidated.headers.getSetCookie()
            assert.equal(headers.length, 1)
            const [deletion] = headers
            assert.match(deletion!, new RegExp(`^${cookie.slice(0, cookie.indexOf('='))}=;`))
            assert.match(deletion!, /Max-Age=0/i)
          })
        })

        it('answers 500 for a thrown error and saves the session only with setOnException', async () => {
          await withApp(makeApp, await make(true), async (get) => {
            const response = await get('/throw')
            assert.equal(response.status, 500)
            const read = await readBody(await get('/read', cookieOf(response)))
            assert.equal(read.data.mark, 'thrown')
          })
          await withApp(makeApp, await make(false), async (get) => {
            const cookie = cookieOf(await get('/write'))
            const response = await get('/throw', cookie)
            assert.equal(response.status, 500)
            assert.deepEqual(response.headers.getSetCookie(), [])
            const read = await readBody(await get('/read', cookie))
            assert.equal(read.data.mark, 'written')
          })
        })

        it('shows data written before a redirect on the next request', async () => {
          await withApp(makeApp, await make(), async (get) => {
            const response = await get('/redirect-after-write')
            assert.equal(response.status, 302)
            assert.equal(new URL(response.headers.get('location')!, 'http://x').pathname, '/read')
            const read = await readBody(await get('/read', cookieOf(response)))
            assert.equal(read.data.mark, 'redirected')
          })
        })

        it('sends Vary: Cookie and a private, no-store Cache-Control with a cookie', async () => {
          await withApp(makeApp, await make(), async (get) => {
            const plain = await get('/write')
            assert.match(plain.headers.get('vary') ?? '', /(^|,\s*)Cookie(\s*,|$)/i)
            assert.match(plain.headers.get('cache-control') ?? '', /private/)
            assert.match(plain.headers.get('cache-control') ?? '', /no-store/)
            const merged = await get('/set-header')
            assert.equal(merged.headers.getSetCookie().length, 1)
            const vary = (merged.headers.get('vary') ?? '').split(',').map((token) => token.trim())
            assert.deepEqual(vary.map((token) => token.toLowerCase()).sort(), [
              'accept-encoding',
              'cookie',
            ])
            assert.match(merged.headers.get('cache-control') ?? '', /private/)
            assert.match(merged.headers.get('cache-control') ?? '', /max-age=0/)
          })
        })

        it('answers hostile Cookie headers with 200 and a fresh session', async () => {
          const factory = await make()
          const name = factory.cookieName
          const hostile: [string, string][] = [
            ['empty', ''],
            ['only separators', ';;; ;'],
            ['duplicated', `${name}=a; ${name}=b`],
            ['quoted', `${name}="abc.def"`],
            ['8 KB', `${name}=${'A'.repeat(8192)}`],
            ['non-ASCII', `${name}=caf\u00e9\u00ff`],
            ['bad percent-encoding', `${name}=%E0%A4%A`],
            ['no value', name],
          ]
          await withApp(makeApp, factory, async (get) => {
            for (const [label, header] of hostile) {
              const response = await get('/read', header)
              assert.equal(response.status, 200, label)
              assert.deepEqual(await response.json(), { isNew: true, data: {} }, label)
              assert.deepEqual(response.headers.getSetCookie(), [], label)
            }
          })
        })

        it('refuses session writes after the headers were sent with SessionCommittedError', async () => {
          await withApp(makeApp, await make(), async (get, seen) => {
            const streamed = await get('/stream')
            assert.equal(streamed.status, 200)
            assert.equal(await streamed.text(), 'ab|late:ERR_SESSION_COMMITTED')
            const read = await readBody(await get('/read', cookieOf(streamed)))
            assert.deepEqual(read.data, { mark: 'streamed' })

            const written = await get('/write')
            assert.equal(written.status, 200)
            const session = seen.at(-1)!
            assert.throws(
              () => session.set('late', true),
              (error: unknown) =>
                error instanceof SessionCommittedError && error.code === 'ERR_SESSION_COMMITTED',
            )
          })
        })

        it('shows a flash message set by a POST after the redirect, once, and nothing on reload', async () => {
          await withApp(makeApp, await make(), async (get, _seen, { post }) => {
            const { cookie, token } = await tokenSession(get)
            const posted = await post('/flash', {
              cookie,
              form: { message: 'Saved', csrf_token: token },
            })
            assert.equal(posted.status, 302)
            assert.equal(new URL(posted.headers.get('location')!, 'http://x').pathname, '/messages')
            const flashed = cookieOf(posted, cookie)
            // Pyramid's sequence: peek, peek, pop, then nothing.
            const peeks = [await get('/peek-flash', flashed), await get('/peek-flash', flashed)]
            for (const peek of peeks) assert.deepEqual(await peek.json(), ['Saved'])
            const shown = await get('/messages', flashed)
            assert.deepEqual(await shown.json(), ['Saved'])
            const reload = await get('/messages', cookieOf(shown, flashed))
            assert.deepEqual(await reload.json(), [])
          })
        })

        it('keeps flash queues apart, and an equal message once with allowDuplicate: false', async () => {
          await withApp(makeApp, await make(), async (get, _seen, { post }) => {
            const session = await tokenSession(get)
            const { token } = session
            let { cookie } = session
            const send = async (path: string, message: string): Promise<void> => {
              const posted = await post(path, { cookie, form: { message, csrf_token: token } })
              assert.equal(posted.status, 302, path)
              cookie = cookieOf(posted, cookie)
            }
            await send('/flash-error', 'Card declined')
            await send('/flash', 'Saved')
            await send('/flash-error', 'Card declined')
            await send('/flash-error', 'Address missing')
            const errors = await get('/error-messages', cookie)
            assert.deepEqual(await errors.json(), ['Card declined', 'Address missing'])
            cookie = cookieOf(errors, cookie)
            assert.deepEqual(await (await get('/messages', cookie)).json(), ['Saved'])
          })
        })

        it('accepts the CSRF token in the X-CSRF-Token header or the csrf_token form field, plain or masked', async () => {
          await withApp(makeApp, await make(), async (get, _seen, { post }) => {
            const { cookie, token } = await tokenSession(get)
            const byHeader = await post('/form', {
              cookie,
              headers: { 'x-csrf-token': token },
              form: { name: 'ann' },
            })
            assert.equal(byHeader.status, 200, 'header')
            assert.deepEqual(await byHeader.json(), { name: 'ann' }, 'the handler reads the form')
            const byField = await post('/form', {
              cookie,
              form: { name: 'bob', csrf_token: token, note: 'a&b=c' },
            })
            assert.equal(byField.status, 200, 'form field')
            assert.deepEqual(
              await byField.json(),
              { name: 'bob', csrf_token: token, note: 'a&b=c' },
              'the handler still reads every field',
            )
            const masked = [maskCsrfToken(token), maskCsrfToken(token)]
            assert.notEqual(masked[0], masked[1])
            await assertStatus(
              await post('/form', { cookie, headers: { 'x-csrf-token': masked[0]! } }),
              200,
              'masked, header',
            )
            await assertStatus(
              await post('/form', { cookie, form: { csrf_token: masked[1]! } }),
              200,
              'masked, form field',
            )
          })
        })

        it('refuses with 403 an unsafe request without a token, with a wrong one, or with the token of another session', async () => {
          await withApp(makeApp, await make(), async (get, _seen, { post }) => {
            const { cookie, token } = await tokenSession(get)
            const other = await tokenSession(get)
            assert.notEqual(other.token, token)
            const wrong = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`
            const refused: [string, string, PostInit][] = [
              ['no token', '/flash', { cookie, form: { message: 'no token' } }],
              ['no token, no body', '/flash', { cookie }],
              ['no session', '/flash', { form: { message: 'x', csrf_token: token } }],
              ['wrong token', '/flash', { cookie, form: { message: 'x', csrf_token: wrong } }],
              ['wrong header', '/flash', { cookie, headers: { 'x-csrf-token': wrong } }],
              ['empty token', '/flash', { cookie, form: { message: 'x', csrf_token: '' } }],
              [
                'another session',
                '/flash',
                { cookie, form: { message: 'x', csrf_token: other.token } },
              ],
              ['query string', `/flash?csrf_token=${token}`, { cookie, form: { message: 'x' } }],
              // A field given twice counts as absent, in every adapter, whichever copy is right.
              [
                'token field twice',
                '/flash',
                {
                  cookie,
                  form: [
                    ['message', 'x'],
                    ['csrf_token', token],
                    ['csrf_token', wrong],
                  ],
                },
              ],
            ]
            for (const [label, path, init] of refused) {
              await assertStatus(await post(path, init), 403, label)
            }
            const messages = await get('/messages', cookie)
            assert.deepEqual(await messages.json(), [], 'no refused request reached its handler')
          })
        })

        it('refuses a cross-origin request on HTTPS, and one the browser calls cross-site', async () => {
          await withApp(makeApp, await make(), async (get, _seen, { post, origin }) => {
            const { cookie, token } = await tokenSession(get)
            const own = origin.replace(/^http:/, 'https:')
            const https = (headers: Record<string, string>): PostInit => ({
              cookie,
              headers: { 'x-forwarded-proto': 'https', 'x-csrf-token': token, ...headers },
            })
            const cases: [string, PostInit, number][] = [
              ['foreign Origin', https({ origin: 'https://evil.example' }), 403],
              ['http twin of the origin', https({ origin }), 403],
              ['no Origin nor Referer', https({}), 403],
              ['foreign Referer', https({ referer: 'https://evil.example/form' }), 403],
              ['own Origin', https({ origin: own }), 200],
              ['own Referer', https({ referer: `${own}/form` }), 200],
              [
                'Sec-Fetch-Site: cross-site',
                {
                  cookie,
                  headers: {
                    'x-csrf-token': token,
                    'sec-fetch-site': 'cross-site',
                    origin: 'http://evil.example',
                  },
                },
                403,
              ],
              [
                'Sec-Fetch-Site: same-origin',
                { cookie, headers: { 'x-csrf-token': token, 'sec-fetch-site': 'same-origin' } },
                200,
              ],
            ]
            for (const [label, init, status] of cases) {
              await assertStatus(await post('/form', init), status, label)
            }
          })
        })

        it('rotates the CSRF token on regenerate(), so a token from before login is refused after', async () => {
          await withApp(makeApp, await make(), async (get, _seen, { post }) => {
            const { cookie, token } = await tokenSession(get)
            const login = await post('/login', { cookie, headers: { 'x-csrf-token': token } })
            assert.equal(login.status, 200)
            const fresh = await login.text()
            assert.ok(fresh.length >= 22 && fresh !== token, 'a new token')
            const after = cookieOf(login, cookie)
            await assertStatus(
              await post('/form', { cookie: after, form: { csrf_token: token } }),
              403,
              'the old token',
            )
            await assertStatus(
              await post('/form', { cookie: after, form: { csrf_token: fresh } }),
              200,
              'the new token',
            )
          })
        })
      })
    }

    describe('with a session too large to save', () => {
      it('answers 500 with no cookie and without the page the handler meant to send', async () => {
        const factory = await signedCookieSuiteFactory.create({ setOnException: true })
        await withApp(makeApp, factory, async (get) => {
          const response = await get('/too-large')
          assert.equal(response.status, 500)
          await assertDropped(response, 'too large')
        })
      })

      it('answers 500 for a streamed reply too, and goes on serving', async () => {
        const factory = await signedCookieSuiteFactory.create({ setOnException: true })
        await withApp(makeApp, factory, async (get) => {
          const response = await get('/too-large-stream')
          assert.equal(response.status, 500)
          await assertDropped(response, 'too large, streamed')
          assert.equal((await get('/untouched')).status, 200)
        })
      })
    })

    describe('with an unavailable store', () => {
      it('answers 503 when the session cannot be loaded', async () => {
        for (const during of ['load', 'load (rejected)'] as const) {
          const factory = unavailableFactory(
            await signedCookieSuiteFactory.create({ setOnException: true }),
            during,
          )
          await withApp(makeApp, factory, async (get) => {
            const response = await get('/read', `${factory.cookieName}=x`)
            assert.equal(response.status, 503, during)
            assert.deepEqual(response.headers.getSetCookie(), [], during)
          })
        }
      })

      it('answers 503 when the session cannot be saved', async () => {
        const base = await signedCookieSuiteFactory.create({ setOnException: true })
        await withApp(makeApp, unavailableFactory(base, 'commit'), async (get) => {
          const response = await get('/write-with-headers')
          assert.equal(response.status, 503)
          await assertDropped(response, 'store down')
        })
      })
    })
  })
}
