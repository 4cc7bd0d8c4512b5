import { createAdaptorServer } from '@hono/node-server'
import type {
  AdapterSuiteData,
  AdapterSuiteFormRoutes,
  AdapterSuiteRoutes,
} from 'cloakroom/testing'
import { listenHarness, runAdapterSuite } from 'cloakroom/testing'
import type { SessionFactory } from 'cloakroom'
import { withCsrf, withSession } from 'cloakroom/web'
import {
  behindProxy,
  formFields,
  inProcessHarness,
  quiet,
  suiteFactories,
  webReply,
} from './harness.js'

function makeHandler(
  factory: SessionFactory<AdapterSuiteData>,
  routes: AdapterSuiteRoutes,
  forms: AdapterSuiteFormRoutes,
): (request: Request) => Response | Promise<Response> {
  const handle = withSession(
    factory,
    // The Web helper takes the scheme from the request URL; GET routes pass it.
    withCsrf(async (request, session) => {
      const path = new URL(request.url).pathname
      const route = request.method === 'POST' ? undefined : routes[path]
      const form = request.method === 'POST' ? forms[path] : undefined
      if (route !== undefined) return webReply(request, await route(session))
      if (form === undefined) return new Response(null, { status: 404 })
      const fields = request.headers.has('content-type') ? await request.formData() : undefined
      return webReply(request, await form(session, formFields(fields)))
    }),
    { onError: quiet() },
  )
  return behindProxy(handle)
}

runAdapterSuite(
  'web (over @hono/node-server)',
  (factory, routes, forms) =>
    listenHarness(createAdaptorServer({ fetch: makeHandler(factory, routes, forms) }) as never),
  { factories: suiteFactories },
)

runAdapterSuite(
  'web (in process)',
  (factory, routes, forms) => inProcessHarness(makeHandler(factory, routes, forms)),
  { factories: suiteFactories },
)
