import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { CsrfError } from '../errors.js'
import { createSignedCookieFactory } from '../factory/signed-cookie-factory.js'
import { csrf } from './fastify-csrf.js'
import { session } from './fastify.js'

async function appOf(): Promise<FastifyInstance> {
  const app = Fastify()
  const factory = createSignedCookieFactory({ secrets: 'k'.repeat(43) })
  await app.register(session, { factory })
  app.get('/token', (request) => request.session.getCsrfToken())
  return app
}

async function tokenOf(app: FastifyInstance): Promise<{ cookie: string; token: string }> {
  const response = await app.inject({ url: '/token' })
  const setCookie = String(response.headers['set-cookie'])
  return { cookie: setCookie.slice(0, setCookie.indexOf(';')), token: response.body }
}

describe('csrf (cloakroom/fastify)', () => {
  it('throws a CsrfError with statusCode 403 to the error handler', async () => {
    const app = await appOf()
    const seen: unknown[] = []
    app.setErrorHandler((error, _request, reply) => {
      seen.push(error)
      return reply.code(403).send('custom refusal')
    })
    app.addHook('preHandler', csrf())
    app.post('/save', () => 'saved')
    const response = await app.inject({ method: 'POST', url: '/save' })
    assert.equal(response.statusCode, 403)
    assert.equal(response.body, 'custom refusal')
    const [error] = seen
    assert.ok(error instanceof CsrfError)
    assert.equal(error.code, 'ERR_CSRF_REJECTED')
    assert.equal(error.reason, 'missing-token')
    await app.close()
  })

  it('never takes the token from a JSON body, as no adapter does: a fetch() sends the header', async () => {
    const app = await appOf()
    app.addHook('preHandler', csrf())
    app.post('/save', () => 'saved')
    const { cookie, token } = await tokenOf(app)
    const json = (headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/save',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        payload: JSON.stringify({ csrf_token: token }),
      })
    assert.equal((await json()).statusCode, 403)
    assert.equal((await json({ 'x-csrf-token': token })).statusCode, 200)
    await app.close()
  })

  it('answers 403 through the default error handler', async () => {
    const app = await appOf()
    app.post('/save', { preHandler: csrf() }, () => 'saved')
    const response = await app.inject({ method: 'POST', url: '/save' })
    assert.equal(response.statusCode, 403)
    assert.equal(response.json<{ code: string }>().code, 'ERR_CSRF_REJECTED')
    await app.close()
  })

  it('reads the token from the fields @fastify/multipart attaches to the body', async () => {
    const app = await appOf()
    // What @fastify/multipart with attachFieldsToBody leaves: a { value } object per field.
    app.addContentTypeParser('multipart/form-data', (_request, payload, done) => {
      payload.resume()
      payload.on('end', () => done(null, fields))
    })
    let fields: Record<string, { value: string }> = {}
    app.post('/upload', { preHandler: csrf() }, (request) => {
      return (request.body as Record<string, { value: string }>).name!.value
    })
    const { cookie, token } = await tokenOf(app)
    fields = { name: { value: 'ann' }, csrf_token: { value: token } }
    const headers = { cookie, 'content-type': 'multipart/form-data; boundary=x' }
    const accepted = await app.inject({ method: 'POST', url: '/upload', headers, payload: '' })
    assert.equal(accepted.statusCode, 200)
    assert.equal(accepted.body, 'ann')
    fields = { name: { value: 'ann' }, csrf_token: { value: 'wrong' } }
    const refused = await app.inject({ method: 'POST', url: '/upload', headers, payload: '' })
    assert.equal(refused.statusCode, 403)
    await app.close()
  })

  it('answers 415 to a urlencoded form until a parser is registered: it registers none', async () => {
    const app = await appOf()
    app.addHook('preHandler', csrf())
    app.post('/save', () => 'saved')
    const { cookie, token } = await tokenOf(app)
    const response = await app.inject({
      method: 'POST',
      url: '/save',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `csrf_token=${token}`,
    })
    assert.equal(response.statusCode, 415)
    await app.close()
  })
})
