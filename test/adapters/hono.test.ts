import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { SessionFactory } from 'cloakroom'
import { session } from 'cloakroom/hono'
import type { AdapterSuiteData, AdapterSuiteRoutes } from 'cloakroom/testing'
import { listenHarness, runAdapterSuite } from 'cloakroom/testing'
import { suiteFactories, suiteSession, webReply } from './harness.js'

function buildApp(factory: SessionFactory<AdapterSuiteData>, routes: AdapterSuiteRoutes): Hono {
  const app = new Hono()
  app.use(session(factory))
  app.onError((error, c) =>
    error instanceof HTTPException ? error.getResponse() : c.text('Internal Server Error', 500),
  )
  for (const [path, route] of Object.entries(routes)) {
    // webReply answers redirects with Response.redirect(), whose headers are immutable.
    app.get(path, async (c) => webReply(c.req.raw, await route(suiteSession(c.get('session')))))
  }
  return app
}

runAdapterSuite(
  'hono (over @hono/node-server)',
  (factory, routes) =>
    listenHarness(createAdaptorServer({ fetch: buildApp(factory, routes).fetch }) as never),
  { factories: suiteFactories },
)

runAdapterSuite(
  'hono (app.request)',
  (factory, routes) => {
    const app = buildApp(factory, routes)
    return { fetch: async (path, init) => app.request(path, init), close: () => Promise.resolve() }
  },
  { factories: suiteFactories },
)
