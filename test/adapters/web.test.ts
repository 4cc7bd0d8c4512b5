import { createAdaptorServer } from '@hono/node-server'
import type { AdapterSuiteData, AdapterSuiteRoutes } from 'cloakroom/testing'
import { listenHarness, runAdapterSuite } from 'cloakroom/testing'
import type { SessionFactory } from 'cloakroom'
import { withSession } from 'cloakroom/web'
import { inProcessHarness, quiet, suiteFactories, webReply } from './harness.js'

function makeHandler(
  factory: SessionFactory<AdapterSuiteData>,
  routes: AdapterSuiteRoutes,
): (request: Request) => Promise<Response> {
  return withSession(
    factory,
    async (request, session) => {
      const route = routes[new URL(request.url).pathname]
      if (route === undefined) return new Response(null, { status: 404 })
      return webReply(request, await route(session))
    },
    { onError: quiet() },
  )
}

runAdapterSuite(
  'web (over @hono/node-server)',
  (factory, routes) =>
    listenHarness(createAdaptorServer({ fetch: makeHandler(factory, routes) }) as never),
  { factories: suiteFactories },
)

runAdapterSuite(
  'web (in process)',
  (factory, routes) => inProcessHarness(makeHandler(factory, routes)),
  { factories: suiteFactories },
)
