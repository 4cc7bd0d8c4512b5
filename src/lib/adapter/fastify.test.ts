import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { describe, it } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { createSignedCookieFactory } from '../factory/signed-cookie-factory.js'
import { createStoreFactory } from '../factory/store-factory.js'
import type { SessionFactory } from '../factory/session-factory.js'
import type { DefaultSessionData } from '../session/session.js'
import { createMemoryStore } from '../store/memory-store.js'
import { session } from './fastify.js'

const factories: [string, () => SessionFactory<DefaultSessionData>][] = [
  ['signed cookie', () => createSignedCookieFactory({ secrets: 'k'.repeat(43) })],
  ['store', () => createStoreFactory({ store: createMemoryStore() })],
]

/** Runs `test` against `app` listening on an ephemeral port (over real HTTP, not inject). */
async function over(app: FastifyInstance, test: (origin: string) => Promise<void>): Promise<void> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    await test(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
  } finally {
    await app.close()
  }
}

/** A store whose every write fails: each commit of a changed session throws. */
function failingStore() {
  const store = createMemoryStore()
  const down = (): Promise<never> => Promise.reject(new Error('store down'))
  return { ...store, set: down, patch: down, touch: down }
}

describe('session (cloakroom/fastify)', () => {
  it("drops the handler's headers and releases its stream when the commit fails", async () => {
    const cases: [string, () => SessionFactory<DefaultSessionData>, number][] = [
      ['store down', () => createStoreFactory({ store: failingStore() }), 503],
      [
        'too large',
        () => createSignedCookieFactory({ secrets: 'k'.repeat(43), maxCookieBytes: 256 }),
        500,
      ],
    ]
    for (const [name, make, status] of cases) {
      const app = Fastify()
      await app.register(session, { factory: make() })
      const streams: Readable[] = []
      app.get('/', (request, reply) => {
        request.session.set('big', 'x'.repeat(300))
        const stream = Readable.from(['never', 'sent'])
        streams.push(stream)
        return reply
          .header('cache-control', 'public, max-age=3600')
          .header('set-cookie', 'remember_me=u1')
          .header('etag', '"v1"')
          .send(stream)
      })
      await over(app, async (origin) => {
        const response = await fetch(`${origin}/`)
        assert.equal(response.status, status, name)
        assert.deepEqual(response.headers.getSetCookie(), [], name)
        assert.equal(response.headers.get('cache-control'), 'no-store', name)
        assert.equal(response.headers.get('etag'), null, name)
        assert.doesNotMatch(await response.text(), /never/, name)
        assert.equal(streams[0]?.destroyed, true, `${name}: the stream is released`)
      })
    }
  })

  it('answers 500 when the reply cannot be sent after the commit, without crashing', async () => {
    for (const [name, make] of factories) {
      const app = Fastify()
      await app.register(session, { factory: make() })
      app.get('/', (request, reply) => {
        request.session.set('seen', true)
        // An unsanitised value: node's writeHead throws ERR_INVALID_CHAR while Fastify sends.
        void reply.header('x-name', 'Zoë\nInjected: 1').send('ok')
      })
      await over(app, async (origin) => {
        const response = await fetch(`${origin}/`)
        assert.equal(response.status, 500, name)
      })
    }
  })

  it("merges a returned Response's Cache-Control and Vary with the session's", async () => {
    for (const [name, make] of factories) {
      const app = Fastify()
      await app.register(session, { factory: make() })
      app.get('/', (request) => {
        request.session.set('seen', true)
        const headers = new Headers({
          'cache-control': 'public, max-age=3600',
          vary: 'Accept-Encoding',
          'x-upstream': 'yes',
        })
        headers.append('set-cookie', 'a=1')
        headers.append('set-cookie', 'b=2')
        return new Response('proxied', { status: 201, headers })
      })
      await over(app, async (origin) => {
        const response = await fetch(`${origin}/`)
        assert.equal(response.status, 201, name)
        assert.equal(await response.text(), 'proxied', name)
        assert.equal(response.headers.get('x-upstream'), 'yes', name)
        assert.equal(response.headers.get('cache-control'), 'private, no-store', name)
        assert.equal(response.headers.get('vary'), 'Accept-Encoding, Cookie', name)
        const cookies = response.headers.getSetCookie().map((cookie) => cookie.split('=')[0])
        assert.deepEqual(cookies, ['a', 'b', 'session'], name)
      })
    }
  })

  it('keeps a reply with a session cookie private when a later onSend hook sets a public Cache-Control', async () => {
    for (const [name, make] of factories) {
      const app = Fastify()
      await app.register(session, { factory: make() })
      const publicPolicy = (reply: { header(name: string, value: string): unknown }): void => {
        reply.header('cache-control', 'public, max-age=300')
        reply.header('vary', 'Accept-Encoding')
      }
      // A child plugin's onSend hooks, and a route's own, run after the session plugin's.
      await app.register(async (pages) => {
        pages.addHook('onSend', (_request, reply, payload, done) => {
          publicPolicy(reply)
          done(null, payload)
        })
        pages.get('/page', (request, reply) => {
          request.session.set('seen', true)
          return reply.send('page')
        })
        pages.get('/stream', (request, reply) => {
          request.session.set('seen', true)
          return reply.send(Readable.from(['streamed']))
        })
        pages.get('/cached', (_request, reply) => reply.send('no session change'))
        // A header writeHead refuses; the error page that follows must be checked too.
        pages.setErrorHandler((_error, _request, reply) => {
          reply.removeHeader('x-title')
          return reply.code(500).send('error page')
        })
        pages.get('/bad-header', (request, reply) => {
          request.session.set('seen', true)
          return reply.header('x-title', 'caf\u00e9 \u2615').send('page')
        })
        return Promise.resolve()
      })
      app.get(
        '/route',
        {
          onSend: (_request, reply, payload, done) => {
            publicPolicy(reply)
            done(null, payload)
          },
        },
        (request, reply) => {
          request.session.set('seen', true)
          return reply.send('route')
        },
      )
      await over(app, async (origin) => {
        for (const path of ['/page', '/stream', '/route']) {
          const response = await fetch(`${origin}${path}`)
          assert.equal(response.status, 200, `${name} ${path}`)
          assert.equal(response.headers.getSetCookie().length, 1, `${name} ${path}`)
          assert.equal(
            response.headers.get('cache-control'),
            'private, no-store',
            `${name} ${path}`,
          )
          assert.match(response.headers.get('vary') ?? '', /\bCookie\b/, `${name} ${path}`)
        }
        const errorPage = await fetch(`${origin}/bad-header`)
        assert.equal(errorPage.status, 500, name)
        assert.equal(errorPage.headers.get('cache-control'), 'private, no-store', name)
        // A reply without a session cookie keeps the app's policy.
        const cached = await fetch(`${origin}/cached`)
        assert.deepEqual(cached.headers.getSetCookie(), [])
        assert.equal(cached.headers.get('cache-control'), 'public, max-age=300')
      })
    }
  })

  it('answers HEAD for a returned Response without a body, with the cookie', async () => {
    for (const [name, make] of factories) {
      const app = Fastify()
      await app.register(session, { factory: make() })
      app.get('/', (request) => {
        request.session.set('seen', true)
        return new Response(null, { status: 200, headers: { 'x-upstream': 'yes' } })
      })
      await over(app, async (origin) => {
        for (const method of ['HEAD', 'GET']) {
          const response = await fetch(`${origin}/`, { method })
          assert.equal(response.status, 200, `${name} ${method}`)
          assert.equal(response.headers.get('x-upstream'), 'yes', `${name} ${method}`)
          assert.equal(response.headers.get('content-length'), '0', `${name} ${method}`)
          assert.equal(response.headers.getSetCookie().length, 1, `${name} ${method}`)
          assert.equal(await response.text(), '', `${name} ${method}`)
        }
      })
    }
  })

  it('keeps a Set-Cookie that middleware set on reply.raw', async () => {
    const app = Fastify()
    await app.register(session, { factory: factories[0]![1]() })
    app.get('/', (request, reply) => {
      reply.raw.setHeader('set-cookie', ['consent=yes'])
      request.session.set('seen', true)
      return 'ok'
    })
    await over(app, async (origin) => {
      const response = await fetch(`${origin}/`)
      const cookies = response.headers.getSetCookie().map((cookie) => cookie.split('=')[0])
      assert.deepEqual(cookies, ['consent', 'session'])
    })
  })
})
