import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { getRequestListener } from '@hono/node-server'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createSignedCookieFactory, maskCsrfToken, type Session } from 'cloakroom'
import {
  readFormBody,
  withCsrf as withNodeCsrf,
  withSession as withNodeSession,
} from 'cloakroom/node'
import { withCsrf as withWebCsrf, withSession as withWebSession } from 'cloakroom/web'
import { CookieJar, rawRequest, startServer, type TestServer } from '../helpers/http.js'

interface Data {
  saved?: string
}

/** One framework-neutral app: GET /token, GET /messages, POST /save (protected), POST /login. */
interface Reply {
  status: number
  body: string
  location?: string
}
const views = {
  token: (session: Session<Data>): Reply => ({ status: 200, body: session.getCsrfToken() }),
  messages: (session: Session<Data>): Reply => ({
    status: 200,
    body: JSON.stringify(session.popFlash()),
  }),
  save: (session: Session<Data>, name: string | null): Reply => {
    session.set('saved', name ?? '')
    session.flash(`saved ${name ?? ''}`)
    return { status: 303, body: '', location: '/messages' }
  },
  login: (session: Session<Data>): Reply => {
    session.regenerate()
    return { status: 200, body: session.getCsrfToken() }
  },
}

type App = (req: IncomingMessage, res: ServerResponse) => void

const factory = createSignedCookieFactory<Data>({ secrets: 'c'.repeat(32) })

const apps: Record<string, () => App> = {
  'cloakroom/node': () =>
    withNodeSession(
      factory,
      withNodeCsrf(async (req, res) => {
        const path = new URL(req.url!, 'http://x').pathname
        const reply =
          path === '/token'
            ? views.token(req.session)
            : path === '/messages'
              ? views.messages(req.session)
              : path === '/login'
                ? views.login(req.session)
                : views.save(req.session, (await readFormBody(req)).get('name'))
        res.statusCode = reply.status
        if (reply.location !== undefined) res.setHeader('location', reply.location)
        res.end(reply.body)
      }),
    ),
  'cloakroom/web': () =>
    getRequestListener(
      // A proxy-aware bridge: a request forwarded over HTTPS gets an https: URL.
      behindProxy(
        withWebSession(
          factory,
          withWebCsrf(async (request, session) => {
            const path = new URL(request.url).pathname
            const reply =
              path === '/token'
                ? views.token(session)
                : path === '/messages'
                  ? views.messages(session)
                  : path === '/login'
                    ? views.login(session)
                    : views.save(
                        session,
                        request.headers.has('content-type')
                          ? ((await request.formData()).get('name') as string | null)
                          : null,
                      )
            return new Response(reply.body, {
              status: reply.status,
              headers: reply.location === undefined ? {} : { location: reply.location },
            })
          }),
        ),
      ),
    ),
}

function behindProxy(fetch: (request: Request) => Promise<Response>) {
  return (request: Request): Promise<Response> => {
    if (request.headers.get('x-forwarded-proto') !== 'https') return fetch(request)
    const url = new URL(request.url)
    url.protocol = 'https:'
    return fetch(
      new Request(url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        duplex: 'half',
      } as RequestInit),
    )
  }
}

async function post(
  url: string,
  jar: CookieJar,
  options: { body?: string; headers?: [string, string][] } = {},
) {
  const { request } = await import('node:http')
  const cookie = jar.header()
  const headers: Record<string, string> = Object.fromEntries(options.headers ?? [])
  if (cookie !== undefined) headers.cookie = cookie
  if (options.body !== undefined) headers['content-type'] ??= 'application/x-www-form-urlencoded'
  return new Promise<{ status: number; body: string; setCookies: string[]; location?: string }>(
    (resolve, reject) => {
      const req = request(url, { method: 'POST', headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const setCookies = res.headers['set-cookie'] ?? []
          jar.update(setCookies)
          resolve({
            status: res.statusCode!,
            body: Buffer.concat(chunks).toString(),
            setCookies,
            ...(res.headers.location === undefined ? {} : { location: res.headers.location }),
          })
        })
      })
      req.on('error', reject)
      req.end(options.body)
    },
  )
}

for (const [name, makeApp] of Object.entries(apps)) {
  describe(`flash and CSRF over real HTTP (${name})`, () => {
    let server: TestServer
    before(async () => {
      server = await startServer(makeApp())
    })
    after(() => server.close())

    const session = async () => {
      const jar = new CookieJar()
      const token = (await jar.fetch(`${server.url}/token`)).body
      return { jar, token }
    }

    it('accepts the token in the X-CSRF-Token header', async () => {
      const { jar, token } = await session()
      const response = await post(`${server.url}/save`, jar, { headers: [['x-csrf-token', token]] })
      assert.equal(response.status, 303)
    })

    it('accepts the token in the csrf_token form field, and the handler still reads the body', async () => {
      const { jar, token } = await session()
      const response = await post(`${server.url}/save`, jar, {
        body: `name=ann&csrf_token=${token}`,
      })
      assert.equal(response.status, 303)
      assert.equal((await jar.fetch(`${server.url}/messages`)).body, '["saved ann"]')
    })

    it('accepts a masked token', async () => {
      const { jar, token } = await session()
      const response = await post(`${server.url}/save`, jar, {
        body: `csrf_token=${maskCsrfToken(token)}`,
      })
      assert.equal(response.status, 303)
    })

    it('refuses a request without a token, with a wrong one, or one from another session', async () => {
      const { jar, token } = await session()
      const other = await session()
      for (const [label, options] of [
        ['no token', { body: 'name=x' }],
        [
          'wrong token',
          { body: `csrf_token=${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}` },
        ],
        ['another session', { headers: [['x-csrf-token', other.token]] as [string, string][] }],
        ['query string only', { body: 'name=x' }],
      ] as const) {
        const url =
          label === 'query string only'
            ? `${server.url}/save?csrf_token=${token}`
            : `${server.url}/save`
        const response = await post(url, jar, options)
        assert.equal(response.status, 403, label)
      }
      assert.equal((await jar.fetch(`${server.url}/messages`)).body, '[]', 'nothing was saved')
    })

    it('refuses a cross-origin request on HTTPS even with the right token', async () => {
      const { jar, token } = await session()
      const host = new URL(server.url).host
      const https: [string, string] = ['x-forwarded-proto', 'https']
      const cross = await post(`${server.url}/save`, jar, {
        headers: [https, ['x-csrf-token', token], ['origin', 'https://evil.example']],
      })
      assert.equal(cross.status, 403)
      const same = await post(`${server.url}/save`, jar, {
        headers: [https, ['x-csrf-token', token], ['origin', `https://${host}`]],
      })
      assert.equal(same.status, 303, 'same origin')
      const viaBrowserHint = await post(`${server.url}/save`, jar, {
        headers: [
          ['x-csrf-token', token],
          ['sec-fetch-site', 'cross-site'],
          ['origin', 'http://evil.example'],
        ],
      })
      assert.equal(
        viaBrowserHint.status,
        403,
        'Sec-Fetch-Site: cross-site is refused on any scheme',
      )
    })

    it('rotates the token at login, so a token leaked before login is useless after', async () => {
      const { jar, token } = await session()
      const fresh = (await post(`${server.url}/login`, jar, { headers: [['x-csrf-token', token]] }))
        .body
      assert.notEqual(fresh, token)
      assert.equal(
        (await post(`${server.url}/save`, jar, { headers: [['x-csrf-token', token]] })).status,
        403,
      )
      assert.equal(
        (await post(`${server.url}/save`, jar, { headers: [['x-csrf-token', fresh]] })).status,
        303,
      )
    })

    it('shows a flash message once after a redirect, and nothing on reload', async () => {
      const { jar, token } = await session()
      const redirect = await post(`${server.url}/save`, jar, {
        body: `name=bob&csrf_token=${token}`,
      })
      assert.equal(redirect.location, '/messages')
      assert.equal((await jar.fetch(server.url + redirect.location)).body, '["saved bob"]')
      const reload = await jar.fetch(`${server.url}/messages`)
      assert.equal(reload.body, '[]')
    })

    it('writes no cookie when an empty flash queue is popped', async () => {
      const response = await rawRequest(`${server.url}/messages`)
      assert.deepEqual(response.setCookies, [])
    })
  })
}
