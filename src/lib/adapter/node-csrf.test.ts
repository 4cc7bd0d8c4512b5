import assert from 'node:assert/strict'
import { createServer as createHttpServer } from 'node:http'
import { connect, createServer, type Http2Server } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { createSignedCookieFactory } from '../factory/signed-cookie-factory.js'
import { withCsrf } from './node-csrf.js'
import { withSession } from './node.js'

/** Sends one HTTP/2 request; resolves with the status and the Set-Cookie values. */
function h2Request(
  origin: string,
  headers: Record<string, string>,
): Promise<{ status: number; cookies: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const client = connect(origin)
    client.on('error', reject)
    const stream = client.request(headers)
    let body = ''
    let status = 0
    let cookies: string[] = []
    stream.setEncoding('utf8')
    stream.on('response', (received) => {
      status = Number(received[':status'])
      cookies = received['set-cookie'] ?? []
    })
    stream.on('data', (chunk: string) => (body += chunk))
    stream.on('end', () => {
      client.close()
      resolve({ status, cookies, body })
    })
    stream.on('error', reject)
    stream.end()
  })
}

describe('withCsrf (cloakroom/node) over HTTP/2', () => {
  it("takes the request's own origin from :authority, which replaces Host", async () => {
    const factory = createSignedCookieFactory({ secrets: 'k'.repeat(43) })
    const listener = withSession(
      factory,
      // https: true, as behind a TLS-terminating proxy: the origin check applies.
      withCsrf(
        (req, res) => {
          res.end(req.method === 'GET' ? req.session.getCsrfToken() : 'saved')
        },
        { https: true },
      ),
    )
    const server: Http2Server = createServer(
      (req, res) => void listener(req as never, res as never),
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const origin = `http://127.0.0.1:${port}`
    try {
      const first = await h2Request(origin, { ':path': '/' })
      const cookie = first.cookies[0]!.split(';')[0]!
      const saved = await h2Request(origin, {
        ':method': 'POST',
        ':path': '/save',
        cookie,
        origin: `https://127.0.0.1:${port}`,
        'x-csrf-token': first.body,
      })
      assert.deepEqual([saved.status, saved.body], [200, 'saved'])
      const foreign = await h2Request(origin, {
        ':method': 'POST',
        ':path': '/save',
        cookie,
        origin: 'https://evil.example',
        'x-csrf-token': first.body,
      })
      assert.equal(foreign.status, 403)
    } finally {
      server.close()
    }
  })
})

describe('withCsrf (cloakroom/node) and the request body', () => {
  it('leaves the whole form body to a handler that reads the request stream itself', async () => {
    const factory = createSignedCookieFactory({ secrets: 'k'.repeat(43) })
    const listener = withSession(
      factory,
      withCsrf(async (req, res) => {
        if (req.method === 'GET') return void res.end(req.session.getCsrfToken())
        const chunks: Buffer[] = []
        for await (const chunk of req) chunks.push(chunk as Buffer)
        res.end(Buffer.concat(chunks))
      }),
    )
    const server = createHttpServer((req, res) => void listener(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    try {
      const first = await fetch(url)
      const token = await first.text()
      const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!
      const form = `name=bob&csrf_token=${encodeURIComponent(token)}`
      const posted = await fetch(url, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      })
      assert.equal(posted.status, 200)
      assert.equal(await posted.text(), form)
      // An empty form (no token) is refused at once, not waited on.
      const empty = await fetch(url, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
        signal: AbortSignal.timeout(5000),
      })
      assert.equal(empty.status, 403)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
