// A complete login form on node:http: CSRF-protected forms, regenerate() at login,
// invalidate() at logout, and a flash message after each redirect.
import { createServer, type ServerResponse } from 'node:http'
import { createMemoryStore, createStoreFactory, maskCsrfToken, type Session } from 'cloakroom'
import { readFormBody, withCsrf, withSession } from 'cloakroom/node'

interface Data {
  user?: string
}
const factory = createStoreFactory<Data>({ store: createMemoryStore() })
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page(res: ServerResponse, session: Session<Data>): void {
  const token = maskCsrfToken(session.getCsrfToken())
  const flashes = session.popFlash().map((m) => `<p role="status">${escape(String(m))}</p>`)
  const user = session.get('user')
  const form = user
    ? `<p>Hello ${escape(user)}</p><form method="post" action="/logout">` +
      `<input type="hidden" name="csrf_token" value="${token}"><button>Log out</button></form>`
    : `<form method="post" action="/login"><input type="hidden" name="csrf_token" value="${token}">` +
      `<label>Name <input name="user" required></label><button>Log in</button></form>`
  res.setHeader('content-type', 'text/html; charset=utf-8')
  res.end(`<!doctype html><html lang="en"><title>Login</title>${flashes.join('')}${form}`)
}

const app = withCsrf<Data>(async (req, res) => {
  const session = req.session
  if (req.method === 'POST' && req.url === '/login') {
    const user = ((await readFormBody(req)).get('user') ?? '').trim()
    if (user === '') {
      session.flash('Enter a user name to log in')
    } else {
      session.regenerate() // new identity at login: fixation defence, new CSRF token
      session.set('user', user)
      session.setOwner(user)
      session.flash(`Welcome, ${user}`)
    }
  } else if (req.method === 'POST' && req.url === '/logout') {
    session.invalidate() // record deleted, cookie deleted, token rotated
    session.flash('You are logged out')
  } else {
    return page(res, session)
  }
  res.writeHead(303, { location: '/' }).end()
})

createServer(withSession(factory, app)).listen(Number(process.env.PORT ?? 3001))
