import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setImmediate as tick } from 'node:timers/promises'
import type { ServerResponse } from 'node:http'
import {
  createSignedCookieFactory,
  SessionCommittedError,
  StoreUnavailableError,
  type Session,
  type SessionFactory,
} from 'cloakroom'
import { withSession, type SessionRequest } from 'cloakroom/node'
import { rawRequest, startServer, type TestServer } from '../helpers/http.js'

interface Data {
  n?: number
}

const signed = createSignedCookieFactory<Data>({ secrets: 'n'.repeat(32) })

/**
 * The signed factory, but every commit resolves on a later tick, like a server-side store (which
 * also locks the session as soon as its commit starts).
 */
const slowCommit: SessionFactory<Data> = {
  cookieName: signed.cookieName,
  load: (header) => signed.load(header),
  commit: async (session, options) => {
    const cookies = signed.commit(session, options)
    await tick()
    return cookies
  },
}

const lateWrites: unknown[] = []

const handlers: Record<
  string,
  (req: SessionRequest<Data>, res: ServerResponse) => void | Promise<void>
> = {
  '/write-head': (req, res) => {
    req.session.set('n', 1)
    res.writeHead(201, {
      'content-type': 'text/plain',
      'set-cookie': 'theme=dark',
      'cache-control': 'public',
    })
    res.end('created')
  },
  '/stream': (req, res) => {
    req.session.set('n', 2)
    res.write('a')
    res.write('b')
    res.end('c')
  },
  '/flush': (req, res) => {
    req.session.set('n', 3)
    res.flushHeaders()
    res.end('flushed')
  },
  '/late': (req, res) => {
    res.end('sent')
    try {
      req.session.set('n', 4)
    } catch (error) {
      lateWrites.push(error)
    }
  },
  '/keep-no-store': (req, res) => {
    req.session.set('n', 5)
    res.setHeader('cache-control', 'no-store, max-age=0')
    res.setHeader('vary', 'Accept-Encoding')
    res.end('ok')
  },
  '/public-no-store': (req, res) => {
    req.session.set('n', 6)
    res.setHeader('cache-control', 'public, no-store, max-age=0')
    res.end('ok')
  },
  '/reject': async (req) => {
    req.session.set('n', 6)
    await tick()
    throw new Error('async failure')
  },
  '/throw-after-headers': (req, res) => {
    req.session.set('n', 7)
    res.write('partial')
    throw new Error('too late for a 500')
  },
}

const route = (req: SessionRequest<Data>, res: ServerResponse) =>
  handlers[new URL(req.url!, 'http://x').pathname]!(req, res)

for (const [name, factory] of [
  ['a synchronous commit', signed],
  ['an asynchronous commit', slowCommit],
] as const) {
  describe(`cloakroom/node withSession with ${name}`, () => {
    let server: TestServer
    const errors: unknown[] = []
    before(async () => {
      server = await startServer(
        withSession(factory, route, { onError: (error) => errors.push(error) }),
      )
    })
    after(() => server.close())

    it('adds the cookie when the handler uses writeHead with its own headers, keeping them', async () => {
      const response = await rawRequest(`${server.url}/write-head`)
      assert.equal(response.status, 201)
      assert.equal(response.body, 'created')
      assert.equal(response.setCookies.length, 2)
      assert.ok(response.setCookies.some((cookie) => cookie.startsWith('theme=dark')))
      assert.ok(response.setCookies.some((cookie) => cookie.startsWith('session=')))
      assert.equal(response.headers['content-type'], 'text/plain')
      assert.equal(
        response.headers['cache-control'],
        'private, no-store',
        'a public response would leak the session',
      )
    })

    it('adds the cookie before a streamed body, keeping the chunks in order', async () => {
      const response = await rawRequest(`${server.url}/stream`)
      assert.equal(response.body, 'abc')
      assert.equal(response.setCookies.length, 1)
    })

    it('adds the cookie before flushHeaders()', async () => {
      const response = await rawRequest(`${server.url}/flush`)
      assert.equal(response.body, 'flushed')
      assert.equal(response.setCookies.length, 1)
    })

    it('refuses a session write after the headers were sent with SessionCommittedError', async () => {
      lateWrites.length = 0
      const response = await rawRequest(`${server.url}/late`)
      assert.equal(response.body, 'sent')
      assert.deepEqual(response.setCookies, [])
      assert.equal(lateWrites.length, 1)
      assert.ok(lateWrites[0] instanceof SessionCommittedError)
    })

    it('keeps a stricter Cache-Control and extends Vary', async () => {
      const response = await rawRequest(`${server.url}/keep-no-store`)
      assert.equal(response.headers['cache-control'], 'private, no-store, max-age=0')
      assert.equal(response.headers.vary, 'Accept-Encoding, Cookie')
    })

    it('drops a public directive that would contradict private', async () => {
      const response = await rawRequest(`${server.url}/public-no-store`)
      assert.equal(response.headers['cache-control'], 'private, no-store, max-age=0')
    })

    it('answers a rejected handler with 500 and reports the error', async () => {
      errors.length = 0
      const response = await rawRequest(`${server.url}/reject`)
      assert.equal(response.status, 500)
      assert.equal(response.setCookies.length, 1, 'setOnException defaults to true')
      assert.match(String(errors[0]), /async failure/)
    })

    it('ends a response that fails after its headers went out, without hanging', async () => {
      await assert.rejects(
        rawRequest(`${server.url}/throw-after-headers`),
        /socket hang up|aborted|ECONNRESET/,
      )
    })
  })
}

describe('cloakroom/node withSession failures', () => {
  /** A factory whose store is down: every load fails. */
  const down: SessionFactory<Data> = {
    cookieName: 'session',
    load: () =>
      Promise.reject(new StoreUnavailableError('load', { cause: new Error('ECONNREFUSED') })),
    commit: () => [],
  }

  it('answers 503 when the session cannot be loaded because the store is down', async () => {
    const errors: unknown[] = []
    const server = await startServer(
      withSession(down, (_req, res) => void res.end('never'), { onError: (e) => errors.push(e) }),
    )
    try {
      const response = await rawRequest(server.url)
      assert.equal(response.status, 503)
      assert.equal(response.body, 'Service Unavailable')
      assert.ok(errors[0] instanceof StoreUnavailableError)
    } finally {
      await server.close()
    }
  })

  it('still answers 503 when its onError reporter throws, and warns instead', async () => {
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve))
    const server = await startServer(
      withSession(down, (_req, res) => void res.end('never'), {
        onError: () => {
          throw new Error('reporter down')
        },
      }),
    )
    try {
      const response = await rawRequest(server.url)
      assert.equal(response.status, 503)
      const warning = (await warned) as Error & { code?: string }
      assert.equal(warning.code, 'CLOAKROOM_HOOK_ERROR')
      assert.match(warning.message, /^onError threw \(Error: reporter down\)/)
    } finally {
      await server.close()
    }
  })

  it('answers 500 when the session cannot be saved (too large), instead of a broken response', async () => {
    const errors: unknown[] = []
    const big = createSignedCookieFactory<{ blob?: string }>({ secrets: 'n'.repeat(32) })
    const server = await startServer(
      withSession(
        big,
        (req, res) => {
          req.session.set('blob', 'x'.repeat(5000))
          res.end('ok')
        },
        { onError: (e) => errors.push(e) },
      ),
    )
    try {
      const response = await rawRequest(server.url)
      assert.equal(response.status, 500)
      assert.deepEqual(response.setCookies, [])
      assert.equal((errors[0] as { code?: string }).code, 'ERR_COOKIE_TOO_LARGE')
    } finally {
      await server.close()
    }
  })

  it('does not load the cookie at all when the handler never touches the session', async () => {
    let loads = 0
    // Told of the garbage cookie only when the session is resolved, which must not happen here.
    const refused: string[] = []
    const lazy = createSignedCookieFactory<Data>({
      secrets: 'n'.repeat(32),
      onInvalidCookie: (reason) => refused.push(reason),
    })
    const counting: SessionFactory<Data> = {
      cookieName: 'session',
      load: (header) => {
        const session = lazy.load(header) as Session<Data>
        loads++
        return session
      },
      commit: (session, options) => lazy.commit(session, options),
    }
    const server = await startServer(withSession(counting, (_req, res) => void res.end('ok')))
    try {
      const response = await rawRequest(server.url, { headers: [['cookie', 'session=garbage']] })
      assert.equal(response.status, 200)
      assert.deepEqual(response.setCookies, [])
      assert.equal(loads, 1, 'load is called once')
      assert.deepEqual(refused, [], 'and the cookie is never parsed')
      // The same request whose handler reads the session does parse it.
      const reading = await startServer(
        withSession(counting, (req, res) => void res.end(String(req.session.isNew))),
      )
      try {
        await rawRequest(reading.url, { headers: [['cookie', 'session=garbage']] })
      } finally {
        await reading.close()
      }
      assert.deepEqual(refused, ['malformed'])
    } finally {
      await server.close()
    }
  })
})
