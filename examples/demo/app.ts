/**
 * The Cloakroom demo: a small server-rendered app that shows every session feature.
 *
 * Why Hono: it is built on the Web-standard `Request`/`Response`, so this same app runs on Node
 * (through `@hono/node-server`), Bun, Deno or a worker; `cloakroom/hono` gives a typed
 * `c.get('session')`; and it is small enough that the session code, not the framework, is what
 * you read here. Tests call it over real HTTP, in a real browser.
 */
import { readFileSync } from 'node:fs'
import { CsrfError, maskCsrfToken, StoreUnavailableError, type Session } from 'cloakroom'
import { csrf, session as sessionMiddleware } from 'cloakroom/hono'
import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import type { DemoBackend } from './backend.js'
import {
  addToCart,
  findProduct,
  MAX_QUANTITY,
  readCart,
  removeFromCart,
  type DemoData,
} from './cart.js'
import {
  badFormPage,
  cartPage,
  devicesPage,
  forbiddenPage,
  fredPage,
  homePage,
  inspectorPage,
  notFoundPage,
  tooLargePage,
  unavailablePage,
  wrongMethodPage,
  type DemoFlash,
  type PageFrame,
} from './views.js'

/** Options of {@link createDemoApp}. */
export interface DemoAppOptions {
  /** The session factory, from `createDemoBackend`. */
  readonly backend: Pick<
    DemoBackend,
    'factory' | 'storeFactory' | 'revocableFactory' | 'factoryName'
  >
  /**
   * The one password of every demo user (the page says so).
   * @defaultValue `'cloakroom'`
   */
  readonly password?: string
  /**
   * The clock.
   * @defaultValue `Date.now`
   */
  readonly now?: () => number
  /**
   * Awaited by the cart's POST handlers after the session is loaded and before it is changed.
   * Only for tests: holding two requests there proves they overlap.
   * @defaultValue undefined
   */
  readonly beforeCartChange?: () => Promise<void>
}

/** The demo's default password. */
export const DEMO_PASSWORD = 'cloakroom'

/** The largest request body the demo reads: its forms send well under a kilobyte. */
export const MAX_BODY_BYTES = 64 * 1024

const USER_NAME = /^[A-Za-z0-9._-]{1,32}$/
/** The paths that only take a POST. */
const POST_ONLY_PATHS = ['/login', '/logout', '/cart/add', '/cart/remove', '/devices/logout-others']
const STYLE = readFileSync(new URL('./style.css', import.meta.url), 'utf8')
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
}

function sessionOf(c: Context): Session<DemoData> {
  return c.get('session') as unknown as Session<DemoData>
}

function isFlash(value: unknown): value is DemoFlash {
  const flash = value as DemoFlash | null
  return (
    typeof flash === 'object' &&
    flash !== null &&
    (flash.kind === 'info' || flash.kind === 'error') &&
    typeof flash.text === 'string'
  )
}

function flash(session: Session<DemoData>, kind: DemoFlash['kind'], text: string): void {
  session.flash({ kind, text } satisfies DemoFlash)
}

/**
 * Sums the bytes of the session cookie in a `Cookie` header (with its chunks `name.0`, `name.1`,
 * ... when a cookie factory split a large session).
 */
function sessionCookieBytes(header: string | undefined, cookieName: string): number | undefined {
  if (header === undefined) return undefined
  let bytes: number | undefined
  for (const pair of header.split(';')) {
    const trimmed = pair.trim()
    const name = trimmed.slice(0, Math.max(trimmed.indexOf('='), 0))
    if (
      name === cookieName ||
      new RegExp(`^${cookieName.replace(/\W/g, '\\$&')}\\.\\d+$`).test(name)
    ) {
      bytes = (bytes ?? 0) + Buffer.byteLength(trimmed)
    }
  }
  return bytes
}

async function formOf(c: Context): Promise<Record<string, string>> {
  let body: Awaited<ReturnType<Context['req']['parseBody']>>
  try {
    body = await c.req.parseBody()
  } catch (error) {
    // A multipart body that does not parse (no boundary, garbage): the client's fault.
    throw new HTTPException(400, { message: 'Bad form', cause: error })
  }
  const form: Record<string, string> = {}
  for (const [key, value] of Object.entries(body)) if (typeof value === 'string') form[key] = value
  return form
}

/**
 * Creates the demo app.
 *
 * @param options the session factory, the password, the clock
 * @returns the Hono app; serve `app.fetch`
 */
export function createDemoApp(options: DemoAppOptions): Hono {
  const { factory, storeFactory, revocableFactory, factoryName } = options.backend
  const password = options.password ?? DEMO_PASSWORD
  const now = options.now ?? Date.now
  const app = new Hono()

  // Served before the session middleware: a stylesheet never loads a session.
  app.get('/style.css', (c) =>
    c.body(STYLE, 200, {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
    }),
  )
  app.use(async (c, next) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value)
    await next()
  })
  const frame = (c: Context, title: string, consumeFlashes = true): PageFrame => {
    const session = sessionOf(c)
    return {
      title,
      path: c.req.path,
      user: session.get('user'),
      csrfToken: () => maskCsrfToken(session.getCsrfToken()),
      flashes: consumeFlashes ? session.popFlash().filter(isFlash) : [],
      factoryName,
    }
  }
  const see = (c: Context, path: string): Response => c.redirect(path, 303)

  app.use(sessionMiddleware(factory))
  // Before csrf() and every parseBody(): a larger body is refused, not read into memory (at
  // once when Content-Length says so, else after MAX_BODY_BYTES of it).
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.html(tooLargePage(frame(c, 'Form too large', false), { maxBytes: MAX_BODY_BYTES }), 413),
    }),
  )
  app.use(csrf()) // refuses unsafe requests without the session's token: HTTPException(403)

  app.get('/', (c) => {
    const session = sessionOf(c)
    const cartCount = readCart(session).reduce((sum, { line }) => sum + line.quantity, 0)
    return c.html(
      homePage(frame(c, 'Cloakroom demo'), {
        cartCount,
        password,
        serverSide: storeFactory !== undefined,
      }),
    )
  })

  app.post('/login', async (c) => {
    const session = sessionOf(c)
    const form = await formOf(c)
    const username = (form.username ?? '').trim()
    if (!USER_NAME.test(username)) {
      flash(
        session,
        'error',
        'A user name is 1 to 32 letters, digits, dots, dashes or underscores.',
      )
      return see(c, '/')
    }
    // A real app compares against a slow password hash (scrypt, argon2); this is a demo.
    if (form.password !== password) {
      flash(session, 'error', 'Wrong password: it is shown above the form.')
      return see(c, '/')
    }
    session.regenerate() // a new id (and CSRF token) for the new privilege level
    session.set('user', username)
    session.set('loggedInAt', now())
    session.setOwner(username) // lets "your devices" list and end this session
    flash(session, 'info', `Welcome, ${username}! You are logged in.`)
    return see(c, '/')
  })

  app.post('/logout', (c) => {
    const session = sessionOf(c)
    session.invalidate() // deletes the record (server-side) and the cookie
    flash(session, 'info', 'You are logged out.') // lands in a fresh session
    return see(c, '/')
  })

  app.get('/cart', (c) => {
    const session = sessionOf(c)
    return c.html(
      cartPage(frame(c, 'Shopping cart'), {
        entries: readCart(session),
        serverSide: storeFactory !== undefined,
      }),
    )
  })

  app.post('/cart/:action{add|remove}', async (c) => {
    const session = sessionOf(c)
    const product = findProduct((await formOf(c)).product)
    if (product === undefined) {
      flash(session, 'error', 'There is no such product.')
      return see(c, '/cart')
    }
    await options.beforeCartChange?.()
    if (c.req.param('action') === 'remove') removeFromCart(session, product)
    else if (!addToCart(session, product, now())) {
      flash(session, 'error', `A cart holds at most ${MAX_QUANTITY} of each product.`)
    }
    return see(c, '/cart')
  })

  app.get('/devices', async (c) => {
    const session = sessionOf(c)
    const user = session.get('user')
    if (user === undefined) {
      flash(session, 'error', 'Log in to see your devices.')
      return see(c, '/')
    }
    if (storeFactory === undefined) {
      return c.html(
        devicesPage(frame(c, 'Your devices'), { canEndOthers: revocableFactory !== undefined }),
      )
    }
    const current = storeFactory.idHashOf(session)
    const summaries = await storeFactory.listSessions(user)
    const devices = summaries.map((summary) => ({ summary, current: summary.idHash === current }))
    return c.html(devicesPage(frame(c, 'Your devices'), { devices, canEndOthers: true }))
  })

  app.post('/devices/logout-others', async (c) => {
    const session = sessionOf(c)
    const user = session.get('user')
    if (user === undefined) return see(c, '/devices')
    if (storeFactory !== undefined) {
      const ended = await storeFactory.revokeSessions(user, { except: session })
      flash(session, 'info', `Logged out ${ended} other session${ended === 1 ? '' : 's'}.`)
    } else if (revocableFactory !== undefined) {
      // Cookies are not listed anywhere: every cookie of this user but this one stops working.
      await revocableFactory.revokeSessions(user, { except: session })
      flash(session, 'info', 'Logged out every other device.')
    }
    return see(c, '/devices')
  })

  app.get('/inspector', (c) => {
    const session = sessionOf(c)
    // Read before the page adds anything (such as a CSRF token for the logout form).
    const view = {
      created: session.created,
      isNew: session.isNew,
      dataJson: JSON.stringify(session.toJSON(), null, 2),
      cookieName: factory.cookieName,
      cookieBytes: sessionCookieBytes(c.req.header('cookie'), factory.cookieName),
      idHash: storeFactory?.idHashOf(session),
    }
    return c.html(inspectorPage(frame(c, 'Session inspector'), view))
  })

  app.get('/fred', (c) => {
    const session = sessionOf(c)
    // Answers about the session the request came with (Pyramid's view asks after setting fred).
    const fredWasThere = session.has('fred')
    if (session.has('abc')) session.set('fred', 'yes')
    session.set('abc', '123')
    return c.html(fredPage(frame(c, 'Fred'), { fredWasThere }))
  })

  // The forms' actions, opened as pages (a bookmark, a reload after a redirect): 405, not 404.
  app.on('GET', POST_ONLY_PATHS, (c) =>
    c.html(wrongMethodPage(frame(c, 'Use the form', false)), 405, { allow: 'POST' }),
  )

  app.notFound((c) => c.html(notFoundPage(frame(c, 'Not found', false)), 404))
  app.onError((error, c) => {
    if (error instanceof HTTPException && error.cause instanceof CsrfError) {
      return c.html(forbiddenPage(frame(c, 'Form refused', false)), 403)
    }
    if (error instanceof HTTPException && error.status === 400) {
      return c.html(badFormPage(frame(c, 'Bad form', false)), 400)
    }
    // The store failed: at load (the session middleware's 503), or inside a handler
    // (listSessions, revokeSessions). The page reads no session: there may be none.
    if (
      error instanceof StoreUnavailableError ||
      (error instanceof HTTPException && error.status === 503)
    ) {
      console.error(error instanceof HTTPException ? (error.cause ?? error) : error)
      return c.html(unavailablePage(factoryName), 503, {
        'cache-control': 'no-store',
        'retry-after': '10',
      })
    }
    // The session middleware wraps a store outage or a session it cannot save in a 5xx.
    if (error instanceof HTTPException) {
      if (error.status >= 500) console.error(error.cause ?? error)
      return error.getResponse()
    }
    console.error(error)
    return c.text('Internal Server Error', 500)
  })
  return app
}
