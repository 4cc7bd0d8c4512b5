import type { StoredSessionSummary } from 'cloakroom'
import { formatPrice, PRODUCTS, type CartEntry } from './cart.js'
import type { FactoryName } from './config.js'
import { html, type SafeHtml } from './html.js'

/** A flash message, queued before a redirect and shown once on the next page. */
export interface DemoFlash {
  /** `info` for confirmations, `error` for problems. */
  readonly kind: 'info' | 'error'
  /** The text. */
  readonly text: string
}

/** What every page shows around its content. */
export interface PageFrame {
  /** The page title (also its `<h1>`). */
  readonly title: string
  /** The request path, to mark the current navigation link. */
  readonly path: string
  /** The logged-in user, if any. */
  readonly user: string | undefined
  /** Returns a (masked) CSRF token for a form; only called by pages that have a form. */
  readonly csrfToken: () => string
  /** The flash messages to show, already taken from the session. */
  readonly flashes: readonly DemoFlash[]
  /** The active session factory. */
  readonly factoryName: FactoryName
}

/** Human names of the factories. */
export const FACTORY_LABELS: Record<FactoryName, string> = {
  sqlite: 'server-side, SQLite (createStoreFactory + createSqliteStore)',
  redis: 'server-side, Redis (createStoreFactory + createRedisStore)',
  postgres: 'server-side, PostgreSQL (createStoreFactory + createPostgresStore)',
  signed: 'signed cookie (createSignedCookieFactory)',
  encrypted: 'encrypted cookie (createEncryptedCookieFactory)',
}

const NAV: readonly { href: string; label: string }[] = [
  { href: '/', label: 'Home' },
  { href: '/cart', label: 'Cart' },
  { href: '/devices', label: 'Your devices' },
  { href: '/inspector', label: 'Session inspector' },
  { href: '/fred', label: 'Fred' },
]

/**
 * @param frame the page's frame
 * @returns a hidden CSRF field for a POST form
 */
function csrfField(frame: PageFrame): SafeHtml {
  return html`<input type="hidden" name="csrf_token" value="${frame.csrfToken()}" />`
}

/**
 * Wraps a page's content in the document, navigation and flash messages.
 *
 * @param frame the page's frame
 * @param content the page's content
 * @returns the whole document
 */
export function layout(frame: PageFrame, content: SafeHtml): string {
  const nav = NAV.map(
    (link) =>
      html`<li>
        <a href="${link.href}" ${link.href === frame.path ? html` aria-current="page"` : ''}
          >${link.label}</a
        >
      </li>`,
  )
  const account =
    frame.user === undefined
      ? html`<p class="account">Not logged in</p>`
      : html`<form class="account" method="post" action="/logout">
          ${csrfField(frame)}
          <span>Logged in as <strong>${frame.user}</strong></span>
          <button type="submit">Log out</button>
        </form>`
  const flashes =
    frame.flashes.length === 0
      ? ''
      : html`<ul class="flashes">
          ${frame.flashes.map((flash) => html`<li class="flash flash-${flash.kind}">${flash.text}</li>`)}
        </ul>`
  const document = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>
          ${frame.title === 'Cloakroom demo' ? frame.title : `${frame.title} · Cloakroom demo`}
        </title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/style.css" />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <p class="brand"><a href="/">Cloakroom</a> <span>demo</span></p>
          <nav aria-label="Main">
            <ul>
              ${nav}
            </ul>
          </nav>
          ${account}
        </header>
        <main id="main">
          <div role="status" aria-live="polite">${flashes}</div>
          <h1>${frame.title}</h1>
          ${content}
        </main>
        <footer>
          <p>
            Sessions: <strong>${FACTORY_LABELS[frame.factoryName]}</strong>. Switch with
            <code>SESSION_FACTORY</code>; no JavaScript on this site.
          </p>
        </footer>
      </body>
    </html>`
  return `${document.toString()}\n`
}

/**
 * @param frame the page's frame
 * @param view what the home page shows, and whether the factory keeps sessions on the server
 * (where two tabs changing different cart lines both keep their change)
 * @returns the home page
 */
export function homePage(
  frame: PageFrame,
  view: { readonly cartCount: number; readonly password: string; readonly serverSide: boolean },
): string {
  const welcome =
    frame.user === undefined
      ? html`<section aria-labelledby="login-title">
          <h2 id="login-title">Log in</h2>
          <p>
            Any user name of 1 to 32 letters, digits, dots, dashes or underscores works; the
            password is <strong>${view.password}</strong> for everyone. Logging in gives your
            session a new id (<code>regenerate()</code>), records you as its owner
            (<code>setOwner()</code>) and queues a flash message for the next page.
          </p>
          <form class="stack" method="post" action="/login">
            ${csrfField(frame)}
            <label for="username">User name</label>
            <input
              id="username"
              name="username"
              autocomplete="username"
              required
              maxlength="32"
              aria-describedby="username-hint"
            />
            <p id="username-hint" class="hint">Letters, digits, dots, dashes and underscores.</p>
            <label for="password">Password</label>
            <input
              id="password"
              name="password"
              type="password"
              autocomplete="current-password"
              required
            />
            <button type="submit">Log in</button>
          </form>
        </section>`
      : html`<section aria-labelledby="you-title">
          <h2 id="you-title">Two browsers, one user</h2>
          <p>
            Log in as ${frame.user} from another browser too, then visit
            <a href="/devices">your devices</a> here to end the other session.
          </p>
        </section>`
  return layout(
    frame,
    html`<p class="lead">Every feature of Cloakroom's sessions, in a small server-rendered app.</p>
      ${welcome}
      <section aria-labelledby="tour-title">
        <h2 id="tour-title">Try it</h2>
        <ul class="cards">
          <li>
            <a href="/cart">Shopping cart</a
            ><span
              >${view.cartCount} item${view.cartCount === 1 ? '' : 's'};
              ${
                view.serverSide
                  ? 'changed in place, safe in two tabs at once.'
                  : 'changed in place; all in the cookie, so two tabs adding at once can lose an item.'
              }</span
            >
          </li>
          <li>
            <a href="/devices">Your devices</a
            ><span
              >${
                view.serverSide
                  ? 'Every session you own; log out the others.'
                  : 'Log out your other devices (a cookie session keeps no list).'
              }</span
            >
          </li>
          <li>
            <a href="/inspector">Session inspector</a
            ><span><code>created</code>, <code>isNew</code>, the data, the cookie's size.</span>
          </li>
          <li>
            <a href="/fred">Fred</a
            ><span
              >Adapted from the Pyramid docs' first session example; reports whether
              <code>fred</code> was in the session the request came with.</span
            >
          </li>
        </ul>
      </section>`,
  )
}

/**
 * @param frame the page's frame
 * @param view whether `fred` was in the session the request came with
 * @returns the Fred page
 */
export function fredPage(frame: PageFrame, view: { readonly fredWasThere: boolean }): string {
  return layout(
    frame,
    html`<p class="answer">
        ${view.fredWasThere ? 'Fred was in the session' : 'Fred was not in the session'}
      </p>
      <p>
        Adapted from the first session example of Pyramid's documentation: if <code>abc</code> is in
        the session, set <code>fred</code>; always set <code>abc</code>; report whether
        <code>fred</code> was in the session the request came with. Reload: not, not, then was.
        (Pyramid's own view checks for <code>fred</code> after setting it, so it says not, was,
        was.)
      </p>
      <p><a href="/fred">Reload</a></p>`,
  )
}

/**
 * @param frame the page's frame
 * @param view the cart's lines, and whether concurrent adds are safe with this factory
 * @returns the cart page
 */
export function cartPage(
  frame: PageFrame,
  view: { readonly entries: readonly CartEntry[]; readonly serverSide: boolean },
): string {
  const total = view.entries.reduce(
    (sum, { product, line }) => sum + product.priceCents * line.quantity,
    0,
  )
  const products = PRODUCTS.map(
    (product) =>
      html`<li>
        <span class="product">${product.name}</span>
        <span class="price">${formatPrice(product.priceCents)}</span>
        <form method="post" action="/cart/add">
          ${csrfField(frame)}
          <input type="hidden" name="product" value="${product.id}" />
          <button type="submit" aria-label="Add ${product.name} to the cart">Add</button>
        </form>
      </li>`,
  )
  const lines =
    view.entries.length === 0
      ? html`<p id="cart-empty">Your cart is empty.</p>`
      : html`<table>
          <caption>
            Your cart
          </caption>
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">Quantity</th>
              <th scope="col">Price</th>
              <th scope="col"><span class="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            ${view.entries.map(
              ({ product, line }) =>
                html`<tr data-product="${product.id}">
                  <th scope="row">${product.name}</th>
                  <td class="quantity">${line.quantity}</td>
                  <td>${formatPrice(product.priceCents * line.quantity)}</td>
                  <td>
                    <form method="post" action="/cart/remove">
                      ${csrfField(frame)}
                      <input type="hidden" name="product" value="${product.id}" />
                      <button type="submit" aria-label="Remove one ${product.name}">
                        Remove one
                      </button>
                    </form>
                  </td>
                </tr>`,
            )}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colspan="2">Total</th>
              <td colspan="2">${formatPrice(total)}</td>
            </tr>
          </tfoot>
        </table>`
  const note = view.serverSide
    ? html`Each line is its own session key (<code>cart:umbrella</code>, <code>cart:scarf</code>),
        and the server-side store saves only the keys a request changed, so two tabs adding
        different products at the same moment both keep their item. (One array under one
        <code>cart</code> key would be one value, and the later request would win.)`
    : html`With a cookie factory the whole session is the cookie: when two tabs add at the same
      moment, the later response's cookie wins and one item can be lost. Server-side factories save
      only the keys a request changed.`
  return layout(
    frame,
    html`<section aria-labelledby="catalogue-title">
        <h2 id="catalogue-title">Products</h2>
        <ul class="products">
          ${products}
        </ul>
      </section>
      <section aria-labelledby="lines-title">
        <h2 id="lines-title">In your cart</h2>
        ${lines}
        <p class="hint">
          Quantities change in place (<code>line.quantity += 1</code>,
          <code>line.added.push(now)</code>) and are saved without <code>changed()</code>. ${note}
        </p>
      </section>`,
  )
}

/** One row of the devices page. */
export interface DeviceRow {
  /** The session, as listed by the factory. */
  readonly summary: StoredSessionSummary
  /** Whether it is the session of this request. */
  readonly current: boolean
}

function when(ms: number): SafeHtml {
  const iso = new Date(ms).toISOString()
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`
}

/**
 * @param frame the page's frame
 * @param view the user's sessions, or undefined when the factory cannot list them; whether it can
 *   end the others
 * @returns the devices page
 */
export function devicesPage(
  frame: PageFrame,
  view: { readonly devices?: readonly DeviceRow[]; readonly canEndOthers: boolean },
): string {
  if (view.devices === undefined) {
    return layout(
      frame,
      html`<p>
          No list with the ${frame.factoryName} cookie factory: the session lives only in your
          browser's cookie, so the server keeps no record of your sessions to list. Run the demo
          with a server-side factory (the default, <code>SESSION_FACTORY=sqlite</code>, or
          <code>redis</code>, <code>postgres</code>) to see them.
        </p>
        ${
          view.canEndOthers
            ? html`<form method="post" action="/devices/logout-others">
                  ${csrfField(frame)}
                  <button type="submit">Log out other devices</button>
                </form>
                <p class="hint">
                  The factory records revocations in SQLite (<code>revocation: { store }</code>):
                  this moves your account to a new generation, so every cookie issued to you before,
                  on any device, is refused from then on, while this one is re-issued (<code
                    >factory.revokeSessions(user, { except: session })</code
                  >). Logging out ends the cookie the same way.
                </p>`
            : ''
        }`,
    )
  }
  const others = view.devices.filter((device) => !device.current).length
  return layout(
    frame,
    html`<p>
        The sessions you are logged in with, most recently active first. Ids are never shown or
        stored: the store knows each session by the SHA-256 of its id.
      </p>
      <table>
        <caption>
          ${view.devices.length} session${view.devices.length === 1 ? '' : 's'}
        </caption>
        <thead>
          <tr>
            <th scope="col">Session</th>
            <th scope="col">Logged in</th>
            <th scope="col">Last active</th>
            <th scope="col">Ends</th>
          </tr>
        </thead>
        <tbody>
          ${view.devices.map(
            ({ summary, current }) => html`<tr${current ? html` class="current"` : ''}>
          <th scope="row"><code>${summary.idHash.slice(0, 10)}…</code>${current ? html` <strong>(this device)</strong>` : ''}</th>
          <td>${when(summary.created)}</td>
          <td>${when(summary.lastActive)}</td>
          <td>${when(summary.expires)}</td>
        </tr>`,
          )}
        </tbody>
      </table>
      <form method="post" action="/devices/logout-others">
        ${csrfField(frame)}
        <button type="submit" ${others === 0 ? html` disabled` : ''}>Log out other devices</button>
      </form>
      <p class="hint">
        Their records are deleted from the store, so their cookies stop working at once (<code
          >factory.revokeSessions(user, { except: session })</code
        >).
      </p>`,
  )
}

/** What the inspector shows. */
export interface InspectorView {
  /** `session.created`. */
  readonly created: number
  /** `session.isNew`. */
  readonly isNew: boolean
  /** The session data, as JSON. */
  readonly dataJson: string
  /** The session cookie's name. */
  readonly cookieName: string
  /** Bytes of the session cookie(s) in the request's `Cookie` header, or undefined when none came. */
  readonly cookieBytes: number | undefined
  /** The id hash, for server-side sessions that have one. */
  readonly idHash: string | undefined
}

/**
 * @param frame the page's frame
 * @param view the session's state
 * @returns the inspector page
 */
export function inspectorPage(frame: PageFrame, view: InspectorView): string {
  return layout(
    frame,
    html`<p>
        This request's session, as the server sees it. Reading it writes nothing: visit this page in
        a private window and no cookie is set.
      </p>
      <dl class="facts">
        <dt>Factory</dt>
        <dd id="factory">${FACTORY_LABELS[frame.factoryName]}</dd>
        <dt><code>created</code></dt>
        <dd id="created">${when(view.created)}</dd>
        <dt><code>isNew</code></dt>
        <dd id="is-new">${String(view.isNew)}</dd>
        <dt>Cookie size</dt>
        <dd id="cookie-size">
          ${
            view.cookieBytes === undefined
              ? `no ${view.cookieName} cookie came with this request`
              : `${view.cookieBytes} bytes (${view.cookieName}=…, of the 4096 a browser keeps per cookie)`
          }
        </dd>
        ${
          view.idHash === undefined
            ? ''
            : html`<dt>Id hash</dt>
                <dd><code>${view.idHash}</code></dd>`
        }
      </dl>
      <h2>Data</h2>
      <pre id="session-data"><code>${view.dataJson}</code></pre>`,
  )
}

/**
 * @param frame the page's frame
 * @returns the page of a form refused by the CSRF check (status 403)
 */
export function forbiddenPage(frame: PageFrame): string {
  return layout(
    frame,
    html`<p>
        This form was not accepted: it is out of date (you logged in or out in another tab, say), or
        it came from another site. Nothing was changed.
      </p>
      <p>Go back, reload the page and try again, or <a href="/">go to the home page</a>.</p>`,
  )
}

/**
 * @param frame the page's frame
 * @param view the largest body the demo reads
 * @returns the page of a request body over the limit (status 413)
 */
export function tooLargePage(frame: PageFrame, view: { readonly maxBytes: number }): string {
  return layout(
    frame,
    html`<p>
        The request sent more than ${view.maxBytes / 1024} KiB, more than any form of this demo
        needs, so it was not read. Nothing was changed.
      </p>
      <p><a href="/">Go to the home page</a>.</p>`,
  )
}

/**
 * @param frame the page's frame
 * @returns the 404 page
 */
export function notFoundPage(frame: PageFrame): string {
  return layout(frame, html`<p>There is no such page. <a href="/">Go home</a>.</p>`)
}

/**
 * @param frame the page's frame
 * @returns the page of a form body that does not parse (status 400)
 */
export function badFormPage(frame: PageFrame): string {
  return layout(
    frame,
    html`<p>The form could not be read, so nothing was changed.</p>
      <p>Go back, reload the page and try again, or <a href="/">go to the home page</a>.</p>`,
  )
}

/**
 * @param frame the page's frame
 * @returns the page of a form's address opened with GET (status 405)
 */
export function wrongMethodPage(frame: PageFrame): string {
  return layout(
    frame,
    html`<p>This address takes a form: use the buttons on the site's pages.</p>
      <p><a href="/">Go to the home page</a>.</p>`,
  )
}

/**
 * A page that needs no session, for when the session store does not answer.
 *
 * @param factoryName the active factory
 * @returns the page of a store outage (status 503)
 */
export function unavailablePage(factoryName: FactoryName): string {
  return layout(
    {
      title: 'Try again shortly',
      path: '',
      user: undefined,
      csrfToken: () => '',
      flashes: [],
      factoryName,
    },
    html`<p>
        The session store is not answering, so this page could not be served. Nothing was changed.
      </p>
      <p>Try again in a few seconds.</p>`,
  )
}
