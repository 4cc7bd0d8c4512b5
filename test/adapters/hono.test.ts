import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { createSignedCookieFactory, type SessionFactory } from 'cloakroom'
import { csrf, session } from 'cloakroom/hono'
import type {
  AdapterSuiteData,
  AdapterSuiteFormRoutes,
  AdapterSuiteRoutes,
} from 'cloakroom/testing'
import { listenHarness, runAdapterSuite } from 'cloakroom/testing'
import { commitFailingFactory } from '../helpers/factories.js'
import { behindProxy, formFields, suiteFactories, suiteSession, webReply } from './harness.js'

function buildApp(
  factory: SessionFactory<AdapterSuiteData>,
  routes: AdapterSuiteRoutes,
  forms: AdapterSuiteFormRoutes,
): Hono {
  const app = new Hono()
  app.use(session(factory))
  app.onError((error, c) =>
    error instanceof HTTPException ? error.getResponse() : c.text('Internal Server Error', 500),
  )
  for (const [path, route] of Object.entries(routes)) {
    // webReply answers redirects with Response.redirect(), whose headers are immutable.
    app.get(path, async (c) => webReply(c.req.raw, await route(suiteSession(c.get('session')))))
  }
  for (const [path, route] of Object.entries(forms)) {
    // csrf() parsed the form with c.req.parseBody(); Hono hands the handler the cached result.
    app.post(path, csrf(), async (c) =>
      webReply(
        c.req.raw,
        await route(suiteSession(c.get('session')), formFields(await c.req.parseBody())),
      ),
    )
  }
  return app
}

// Hono takes the scheme from the request URL: behindProxy turns X-Forwarded-Proto into it.
runAdapterSuite(
  'hono (over @hono/node-server)',
  (factory, routes, forms) =>
    listenHarness(
      createAdaptorServer({ fetch: behindProxy(buildApp(factory, routes, forms).fetch) }) as never,
    ),
  { factories: suiteFactories },
)

runAdapterSuite(
  'hono (app.request)',
  (factory, routes, forms) => {
    const app = buildApp(factory, routes, forms)
    const fetch = behindProxy((request) => app.request(request))
    return {
      fetch: async (path, init) => fetch(new Request(`http://localhost${path}`, init)),
      origin: 'http://localhost',
      close: () => Promise.resolve(),
    }
  },
  { factories: suiteFactories },
)

describe('hono over @hono/node-server, with responses the app shares or streams', () => {
  it("copies each response, keeping its body, so a shared one never carries another user's cookie", async () => {
    const factory = createSignedCookieFactory({ secrets: 'k'.repeat(43) })
    const failing = commitFailingFactory()
    const app = new Hono()
    const server = createAdaptorServer({ fetch: app.fetch })
    // Made once the server replaced the global Response, as an app's module-level one would be.
    const sharedText = new Response('shared body', { status: 202 })
    const sharedBytes = new Response(new TextEncoder().encode('shared bytes'))
    app.use('/failing/*', session(failing))
    app.use('/ok/*', session(factory))
    app.onError((error, c) =>
      error instanceof HTTPException ? error.getResponse() : c.text('error', 500),
    )
    for (const prefix of ['/ok', '/failing']) {
      app.post(`${prefix}/text`, (c) => {
        c.get('session').set('user', c.req.query('u'))
        return sharedText
      })
      app.post(`${prefix}/bytes`, (c) => {
        c.get('session').set('user', c.req.query('u'))
        return sharedBytes
      })
    }
    app.post('/ok/stream', (c) => {
      c.get('session').set('user', c.req.query('u'))
      const encoder = new TextEncoder()
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode('one '))
          controller.enqueue(encoder.encode('two'))
          controller.close()
        },
      })
      return c.body(body)
    })
    const harness = await listenHarness(server as never)
    try {
      for (const user of ['alice', 'bob', 'carol']) {
        // A failed commit in between must not spoil the shared responses either.
        const failed = await harness.fetch(`/failing/text?u=${user}`, { method: 'POST' })
        assert.equal(failed.status, 503)
        await harness.fetch(`/failing/bytes?u=${user}`, { method: 'POST' })
        for (const [path, body, status] of [
          ['/ok/text', 'shared body', 202],
          ['/ok/bytes', 'shared bytes', 200],
          ['/ok/stream', 'one two', 200],
        ] as const) {
          const response = await harness.fetch(`${path}?u=${user}`, { method: 'POST' })
          assert.equal(response.status, status, `${user} ${path}`)
          assert.equal(await response.text(), body, `${user} ${path}`)
          const cookies = response.headers.getSetCookie()
          assert.equal(cookies.length, 1, `${user} ${path}`)
          const session = await factory.load(cookies[0]!.split(';')[0])
          assert.equal(session.get('user'), user)
        }
      }
    } finally {
      await harness.close()
    }
  })
})
