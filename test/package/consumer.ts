// A consumer of the packed package, as an app would write it. scripts/check-package.sh copies this
// file into a fresh project that installed the tarball, type-checks it there under
// `moduleResolution` node16 and bundler (skipLibCheck off, so the shipped .d.ts files are checked
// too), compiles it and runs it under plain node. It is never run from this checkout: here
// `npm run typecheck` only compiles it against src/.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import Koa from 'koa'
import pg from 'pg'
import { createClient } from 'redis'
import {
  CloakroomError,
  createMemoryStore,
  createSignedCookieFactory,
  createStoreFactory,
  type Session,
  type SessionFactory,
} from 'cloakroom'
import * as expressAdapter from 'cloakroom/express'
import * as fastifyAdapter from 'cloakroom/fastify'
import { createFileStore } from 'cloakroom/file'
import * as honoAdapter from 'cloakroom/hono'
import * as koaAdapter from 'cloakroom/koa'
import { readFormBody, withSession as withNodeSession } from 'cloakroom/node'
import { createPostgresStore, postgresSessionTableSQL } from 'cloakroom/postgres'
import { createPyramidCookieFactory, PYRAMID_CSRF_KEY } from 'cloakroom/pyramid'
import { createRedisStore, type RedisStoreOptions } from 'cloakroom/redis'
import { createSqliteStore } from 'cloakroom/sqlite'
import { runAdapterSuite, runStoreSuite } from 'cloakroom/testing'
import { withCsrf, withSession as withWebSession } from 'cloakroom/web'

const secret = 'a'.repeat(43)
// Typed by the factory (node, web), or Session<DefaultSessionData> as the framework adapters see it.
const factory: SessionFactory<{ visits: number }> = createSignedCookieFactory<{ visits: number }>({
  secrets: secret,
})
const appFactory = createSignedCookieFactory({ secrets: secret })

const cookieOf = (response: Response): string => {
  const setCookie = response.headers.get('set-cookie')
  assert.ok(setCookie, 'the response sets the session cookie')
  return setCookie.split(';')[0]!
}

// cloakroom and cloakroom/web: a visit counter, two requests, the second carrying the cookie.
const handle = withWebSession(
  factory,
  withCsrf((_request: Request, session: Session<{ visits: number }>) => {
    const visits = (session.get('visits') ?? 0) + 1
    session.set('visits', visits)
    return new Response(`visits ${visits}`)
  }),
)
const first = await handle(new Request('http://localhost/'))
assert.equal(await first.text(), 'visits 1')
const second = await handle(
  new Request('http://localhost/', { headers: { cookie: cookieOf(first) } }),
)
assert.equal(await second.text(), 'visits 2')

// cloakroom/node: types only (a server is not started here).
const nodeHandler = withNodeSession(factory, async (req, res) => {
  const form = await readFormBody(req)
  res.end(`${req.session.get('visits') ?? 0} ${form.size}`)
})
assert.equal(typeof nodeHandler, 'function')

// A server-side store factory, with the memory store, the file store and the SQLite store.
const dir = mkdtempSync(join(tmpdir(), 'cloakroom-consumer-'))
try {
  const memory = createStoreFactory({ store: createMemoryStore() })
  const files = createFileStore({ dir: join(dir, 'sessions') })
  const sqlite = createSqliteStore({ database: new Database(':memory:') })
  for (const store of [files, sqlite]) {
    const stats = await store.stats()
    assert.equal(typeof stats, 'object')
  }
  await sqlite.close()
  assert.equal(memory.cookieName.length > 0, true)
} finally {
  rmSync(dir, { recursive: true, force: true })
}

// cloakroom/redis and cloakroom/postgres: the peer packages' own types fit (nothing connects).
const redisOptions: RedisStoreOptions = { client: createClient({ url: 'redis://127.0.0.1:1' }) }
assert.equal(typeof createRedisStore, 'function')
assert.ok(redisOptions.client)
const pool = new pg.Pool({ connectionString: 'postgres://127.0.0.1:1/none', max: 1 })
assert.equal(typeof createPostgresStore({ pool, createTable: false }).stats, 'function')
await pool.end()
assert.match(postgresSessionTableSQL(), /CREATE TABLE/i)

// cloakroom/pyramid.
const pyramid = createPyramidCookieFactory({ secret })
assert.equal(typeof pyramid.cookieName, 'string')
assert.equal(typeof PYRAMID_CSRF_KEY, 'string')

// cloakroom/express: the request type carries `session`.
const expressApp = express()
expressApp.use(expressAdapter.session(appFactory))
expressApp.get('/', (req, res) => {
  req.session.set('visits', Number(req.session.get('visits') ?? 0) + 1)
  res.send('ok')
})
expressApp.post('/', expressAdapter.csrf(), (_req, res) => {
  res.send('ok')
})
expressApp.use(expressAdapter.sessionErrorHandler())

// cloakroom/fastify: registered as a plugin, `request.session` typed; one request through inject().
const fastifyApp = Fastify()
await fastifyApp.register(fastifyAdapter.session, { factory: appFactory })
fastifyApp.get('/', { preHandler: fastifyAdapter.csrf() }, (request, reply) => {
  const visits = Number(request.session.get('visits') ?? 0) + 1
  request.session.set('visits', visits)
  return reply.send(`visits ${visits}`)
})
const injected = await fastifyApp.inject({ method: 'GET', url: '/' })
assert.equal(injected.body, 'visits 1')
assert.ok(injected.headers['set-cookie'])
await fastifyApp.close()

// cloakroom/hono: `c.get('session')` typed; one request through app.request().
const honoApp = new Hono()
honoApp.use(honoAdapter.session(appFactory))
honoApp.post('/', honoAdapter.csrf(), (c) => c.text('ok'))
honoApp.get('/', (c) => {
  const visits = Number(c.get('session').get('visits') ?? 0) + 1
  c.get('session').set('visits', visits)
  return c.text(`visits ${visits}`)
})
const honoResponse = await honoApp.request('/')
assert.equal(await honoResponse.text(), 'visits 1')
assert.ok(honoResponse.headers.get('set-cookie'))

// cloakroom/koa: `ctx.session` typed.
const koaApp = new Koa()
koaApp.use(koaAdapter.session(appFactory))
koaApp.use(koaAdapter.csrf())
koaApp.use((ctx) => {
  ctx.session.set('visits', Number(ctx.session.get('visits') ?? 0) + 1)
  ctx.body = 'ok'
})

// cloakroom/testing: the suites are functions to call from an app's own node:test files.
assert.equal(typeof runStoreSuite, 'function')
assert.equal(typeof runAdapterSuite, 'function')
assert.ok(new CloakroomError('ERR_INVALID_OPTION', 'message') instanceof Error)

console.log('consumer ok')
