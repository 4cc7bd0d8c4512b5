import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import type { SessionFactory } from 'cloakroom'
import { session } from 'cloakroom/fastify'
import type { AdapterSuiteData, AdapterSuiteHarness, AdapterSuiteRoutes } from 'cloakroom/testing'
import { runAdapterSuite } from 'cloakroom/testing'
import { suiteFactories, suiteSession } from './harness.js'

async function buildApp(
  factory: SessionFactory<AdapterSuiteData>,
  routes: AdapterSuiteRoutes,
): Promise<FastifyInstance> {
  const app = Fastify()
  // The plugin takes a factory of the app-wide SessionData; the suite uses its own data type.
  await app.register(session, { factory: factory as unknown as SessionFactory })
  for (const [path, route] of Object.entries(routes)) {
    app.get(path, async (request, reply) => {
      const answer = await route(suiteSession(request.session))
      if (answer.redirect !== undefined) return reply.redirect(answer.redirect, 302)
      reply.code(answer.status ?? 200).headers(answer.headers ?? {})
      if (answer.headers?.['content-type'] === undefined) reply.type('text/plain; charset=utf-8')
      return reply.send(
        answer.stream === undefined ? (answer.body ?? '') : Readable.from(answer.stream()),
      )
    })
  }
  return app
}

runAdapterSuite(
  'fastify',
  async (factory, routes): Promise<AdapterSuiteHarness> => {
    const app = await buildApp(factory, routes)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    return {
      fetch: (path, init) => fetch(`http://127.0.0.1:${port}${path}`, init),
      close: () => app.close(),
    }
  },
  { factories: suiteFactories },
)

runAdapterSuite(
  'fastify (inject)',
  async (factory, routes): Promise<AdapterSuiteHarness> => {
    const app = await buildApp(factory, routes)
    return {
      fetch: async (path, init) => {
        const requestHeaders: Record<string, string> = {}
        new Headers(init?.headers).forEach((value, name) => (requestHeaders[name] = value))
        const injected = await app.inject({ method: 'GET', url: path, headers: requestHeaders })
        const headers = new Headers()
        for (const [name, value] of Object.entries(injected.headers)) {
          for (const item of Array.isArray(value) ? value : [value]) {
            if (item !== undefined) headers.append(name, String(item))
          }
        }
        return new Response(new Uint8Array(injected.rawPayload), {
          status: injected.statusCode,
          headers,
        })
      },
      close: () => app.close(),
    }
  },
  { factories: suiteFactories },
)
