import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { getRequestListener } from '@hono/node-server'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  createSignedCookieFactory,
  type SessionFactory,
  type SignedCookieFactoryOptions,
} from 'cloakroom'
import { withSession as withNodeSession } from 'cloakroom/node'
import { withSession as withWebSession } from 'cloakroom/web'
import type { Session } from 'cloakroom'
import { CookieJar, rawRequest, startServer, type TestServer } from '../helpers/http.js'

interface Data {
  n?: number
  cart?: { items: string[] }
}

/** What each route does to the session; the adapters only translate. */
const routes: Record<
  string,
  (session: Session<Data>) => { body: string; status?: number; location?: string }
> = {
  '/untouched': () => ({ body: 'ok' }),
  '/read': (s) => ({ body: String(s.get('n') ?? 'none') }),
  '/write': (s) => {
    s.set('n', (s.get('n') ?? 0) + 1)
    return { body: String(s.get('n')) }
  },
  '/cart': (s) => {
    const cart = s.setDefault('cart', { items: [] })
    cart.items.push(`item${cart.items.length}`)
    return { body: cart.items.join(',') }
  },
  '/show-cart': (s) => ({ body: (s.get('cart')?.items ?? []).join(',') }),
  '/invalidate': (s) => {
    s.invalidate()
    return { body: 'bye' }
  },
  '/write-then-redirect': (s) => {
    s.set('n', 100)
    return { body: '', status: 302, location: '/read' }
  },
  '/throw': (s) => {
    s.set('n', 666)
    throw new Error('handler failed')
  },
}

type Adapter = (
  factory: SessionFactory<Data>,
) => (req: IncomingMessage, res: ServerResponse) => void

const adapters: Record<string, Adapter> = {
  'cloakroom/node': (factory) =>
    withNodeSession(
      factory,
      (req, res) => {
        const route = routes[new URL(req.url!, 'http://x').pathname]!
        const result = route(req.session)
        res.statusCode = result.status ?? 200
        if (result.location !== undefined) res.setHeader('location', result.location)
        res.end(result.body)
      },
      { onError: () => {} },
    ),
  'cloakroom/web': (factory) =>
    getRequestListener(
      withWebSession(
        factory,
        (request, session) => {
          const route = routes[new URL(request.url).pathname]!
          const result = route(session)
          return new Response(result.body, {
            status: result.status ?? 200,
            headers: result.location === undefined ? {} : { location: result.location },
          })
        },
        { onError: () => {} },
      ),
    ),
}

const SECRET = 'a'.repeat(32)
const OLD_SECRET = 'b'.repeat(32)

for (const [name, adapter] of Object.entries(adapters)) {
  describe(`signed cookies over real HTTP (${name})`, () => {
    const clock = { now: 1_900_000_000_000 }
    const servers: TestServer[] = []
    const serve = async (options: Partial<SignedCookieFactoryOptions> = {}): Promise<string> => {
      const factory = createSignedCookieFactory<Data>({
        secrets: SECRET,
        now: () => clock.now,
        ...options,
      })
      const server = await startServer(adapter(factory))
      servers.push(server)
      return server.url
    }
    let url: string
    before(async () => {
      url = await serve()
    })
    after(async () => {
      await Promise.all(servers.map((server) => server.close()))
    })

    it('sends no cookie for an untouched or read-only new session', async () => {
      for (const path of ['/untouched', '/read']) {
        const response = await rawRequest(url + path)
        assert.equal(response.status, 200)
        assert.deepEqual(response.setCookies, [], path)
      }
    })

    it('sends exactly one Set-Cookie after writes, with Vary and Cache-Control', async () => {
      const jar = new CookieJar()
      const response = await jar.fetch(`${url}/write`)
      assert.equal(response.setCookies.length, 1)
      assert.match(response.headers.vary ?? '', /Cookie/)
      assert.equal(response.headers['cache-control'], 'private, no-store')
      assert.equal((await jar.fetch(`${url}/write`)).body, '2')
      const read = await jar.fetch(`${url}/read`)
      assert.equal(read.body, '2')
      assert.deepEqual(read.setCookies, [], 'a read-only request sends no cookie')
    })

    it('saves nested mutation without changed()', async () => {
      const jar = new CookieJar()
      await jar.fetch(`${url}/cart`)
      await jar.fetch(`${url}/cart`)
      assert.equal((await jar.fetch(`${url}/show-cart`)).body, 'item0,item1')
    })

    it('deletes the cookie on invalidate()', async () => {
      const jar = new CookieJar()
      await jar.fetch(`${url}/write`)
      const response = await jar.fetch(`${url}/invalidate`)
      assert.match(response.setCookies[0]!, /^session=; Max-Age=0/)
      assert.equal(jar.header(), undefined)
      assert.equal((await jar.fetch(`${url}/read`)).body, 'none')
    })

    it('shows the new data right after a redirect that followed a write', async () => {
      const jar = new CookieJar()
      const redirect = await jar.fetch(`${url}/write-then-redirect`)
      assert.equal(redirect.status, 302)
      assert.equal((await jar.fetch(url + String(redirect.headers.location))).body, '100')
    })

    it('answers a thrown handler with 500, saving the session only with setOnException', async () => {
      const jar = new CookieJar()
      const saved = await jar.fetch(`${url}/throw`)
      assert.equal(saved.status, 500)
      assert.equal(saved.setCookies.length, 1)
      assert.equal((await jar.fetch(`${url}/read`)).body, '666')

      const strict = await serve({ setOnException: false })
      const response = await rawRequest(`${strict}/throw`)
      assert.equal(response.status, 500)
      assert.deepEqual(response.setCookies, [])
    })

    it('answers hostile Cookie headers with 200 and a fresh session', async () => {
      const jar = new CookieJar()
      await jar.fetch(`${url}/write`)
      const good = jar.get('session')!
      const hostile: [string, string][][] = [
        [['cookie', '']],
        [['cookie', 'session=']],
        [['cookie', 'session=garbage']],
        [['cookie', `session="${good.slice(0, -2)}"`]],
        [['cookie', 'session=a; session=b; session=c']],
        [['cookie', `session=${'x'.repeat(8 * 1024)}`]],
        [['cookie', `session=${'%'.repeat(100)}; other=%E0%A4%A`]],
        [['cookie', Buffer.from('session=caf\u00e9\u20ac', 'utf8').toString('latin1')]],
        [['cookie', ';;;=;session;==;']],
        [
          ['cookie', 'session=first'],
          ['cookie', 'session=second'],
        ],
      ]
      for (const headers of hostile) {
        const response = await rawRequest(`${url}/read`, { headers })
        assert.equal(response.status, 200, JSON.stringify(headers).slice(0, 80))
        assert.equal(response.body, 'none')
        assert.deepEqual(response.setCookies, [])
      }
      // A quoted valid cookie is still read (browsers may quote values).
      const quoted = await rawRequest(`${url}/read`, { headers: [['cookie', `session="${good}"`]] })
      assert.equal(quoted.body, '1')
    })

    it('ends idle and absolute sessions at their exact boundaries over HTTP', async () => {
      const start = clock.now
      const idle = await serve({ timeout: 30, reissueTime: null, absoluteTimeout: 100 })
      const jar = new CookieJar()
      await jar.fetch(`${idle}/write`)
      clock.now = start + 30_000
      assert.equal((await jar.fetch(`${idle}/read`)).body, '1', 'at exactly the idle timeout')
      clock.now = start + 30_001
      assert.equal((await jar.fetch(`${idle}/read`)).body, 'none', '1 ms past the idle timeout')

      clock.now = start
      const absolute = new CookieJar()
      await absolute.fetch(`${idle}/write`)
      for (const offset of [25_000, 50_000, 75_000, 100_000]) {
        clock.now = start + offset
        await absolute.fetch(`${idle}/write`)
      }
      assert.equal(
        (await absolute.fetch(`${idle}/read`)).body,
        '5',
        'at exactly the absolute timeout',
      )
      clock.now = start + 100_001
      assert.equal((await absolute.fetch(`${idle}/read`)).body, 'none', 'ended however active')
      clock.now = start
    })

    it('re-issues a read session only when due', async () => {
      const start = clock.now
      const reissuing = await serve({ timeout: 100, reissueTime: 10 })
      const jar = new CookieJar()
      await jar.fetch(`${reissuing}/write`)
      clock.now = start + 10_000
      assert.deepEqual((await jar.fetch(`${reissuing}/read`)).setCookies, [])
      clock.now = start + 10_001
      assert.equal((await jar.fetch(`${reissuing}/read`)).setCookies.length, 1)
      assert.deepEqual((await jar.fetch(`${reissuing}/untouched`)).setCookies, [])
      clock.now = start
    })

    it('rotates secrets: an old secret is accepted and re-issued, a removed one refused', async () => {
      const oldServer = await serve({ secrets: OLD_SECRET })
      const rotated = await serve({ secrets: [SECRET, OLD_SECRET] })
      const current = await serve({ secrets: SECRET })
      const jar = new CookieJar()
      await jar.fetch(`${oldServer}/write`)
      const oldCookie = jar.get('session')!
      const reissued = await jar.fetch(`${rotated}/read`)
      assert.equal(reissued.body, '1')
      assert.equal(reissued.setCookies.length, 1, 're-issued without the app writing')
      assert.notEqual(jar.get('session'), oldCookie)
      assert.equal(
        (await jar.fetch(`${current}/read`)).body,
        '1',
        'the re-issued cookie uses the new secret',
      )
      const refused = await rawRequest(`${current}/read`, {
        headers: [['cookie', `session=${oldCookie}`]],
      })
      assert.equal(refused.body, 'none')
    })
  })
}
