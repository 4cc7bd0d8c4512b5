import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { SessionFactory } from 'cloakroom'
import { csrf, session } from 'cloakroom/hono'
import type {
  AdapterSuiteData,
  AdapterSuiteFormRoutes,
  AdapterSuiteRoutes,
} from 'cloakroom/testing'
import { listenHarness, runAdapterSuite } from 'cloakroom/testing'
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
