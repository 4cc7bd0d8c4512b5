import assert from 'node:assert/strict'
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
