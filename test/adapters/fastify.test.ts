import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { SessionFactory } from 'cloakroom'
import { csrf, session } from 'cloakroom/fastify'
import type {
  AdapterSuiteData,
  AdapterSuiteFormRoutes,
  AdapterSuiteHarness,
  AdapterSuiteReply,
  AdapterSuiteRoutes,
} from 'cloakroom/testing'
import { runAdapterSuite } from 'cloakroom/testing'
import { formFields, suiteFactories, suiteSession } from './harness.js'

function send(reply: FastifyReply, answer: AdapterSuiteReply): FastifyReply {
  if (answer.redirect !== undefined) return reply.redirect(answer.redirect, 302)
  reply.code(answer.status ?? 200).headers(answer.headers ?? {})
  if (answer.headers?.['content-type'] === undefined) reply.type('text/plain; charset=utf-8')
  return reply.send(
    answer.stream === undefined ? (answer.body ?? '') : Readable.from(answer.stream()),
  )
}

/**
 * @param forms how urlencoded bodies are parsed (Fastify parses none by itself, and
 * `@fastify/formbody` is not installed here): into an object, as `@fastify/formbody` does, or
 * kept as the raw string
 */
async function buildApp(
  factory: SessionFactory<AdapterSuiteData>,
  routes: AdapterSuiteRoutes,
  formRoutes: AdapterSuiteFormRoutes,
  forms: 'object' | 'raw string',
): Promise<FastifyInstance> {
  // trustProxy: X-Forwarded-Proto sets request.protocol.
  const app = Fastify({ trustProxy: true })
  // The plugin takes a factory of the app-wide SessionData; the suite uses its own data type.
  await app.register(session, { factory: factory as unknown as SessionFactory })
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, forms === 'object' ? Object.fromEntries(new URLSearchParams(String(body))) : body)
    },
  )
  for (const [path, route] of Object.entries(routes)) {
    app.get(path, async (request, reply) => send(reply, await route(suiteSession(request.session))))
  }
  for (const [path, route] of Object.entries(formRoutes)) {
    app.post(path, { preHandler: csrf() }, async (request, reply) => {
      const body =
        typeof request.body === 'string' ? new URLSearchParams(request.body) : request.body
      return send(reply, await route(suiteSession(request.session), formFields(body)))
    })
  }
  return app
}

runAdapterSuite(
  'fastify',
  async (factory, routes, forms): Promise<AdapterSuiteHarness> => {
    const app = await buildApp(factory, routes, forms, 'object')
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    return {
      fetch: (path, init) => fetch(`http://127.0.0.1:${port}${path}`, init),
      origin: `http://127.0.0.1:${port}`,
      close: () => app.close(),
    }
  },
  { factories: suiteFactories },
)

runAdapterSuite(
  'fastify (inject, raw form bodies)',
  async (factory, routes, forms): Promise<AdapterSuiteHarness> => {
    const app = await buildApp(factory, routes, forms, 'raw string')
    return {
      fetch: async (path, init) => {
        const requestHeaders: Record<string, string> = {}
        new Headers(init?.headers).forEach((value, name) => (requestHeaders[name] = value))
        const injected = await app.inject({
          method: (init?.method ?? 'GET') as 'GET' | 'POST',
          url: path,
          headers: requestHeaders,
          ...(typeof init?.body === 'string' ? { payload: init.body } : {}),
        })
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
      // light-my-request sends `Host: localhost:80`.
      origin: 'http://localhost:80',
      close: () => app.close(),
    }
  },
  { factories: suiteFactories },
)
