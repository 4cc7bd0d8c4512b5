import assert from 'node:assert/strict'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { readFormBody, readFormBodyOnce } from './form-body.js'

/** A urlencoded request whose body is `body`, all arrived, as node:http hands it over. */
function formRequest(body: string): IncomingMessage {
  const req = new Readable({ read() {} }) as unknown as IncomingMessage
  req.headers = { 'content-type': 'application/x-www-form-urlencoded' }
  // node:http sets `complete` once the message is parsed, before the body's end is read.
  req.complete = true
  req.push(Buffer.from(body))
  req.push(null)
  return req
}

describe('readFormBody', () => {
  it('reads the body once and shares it between calls', async () => {
    const req = formRequest('a=1&b=2')
    const [first, second] = [await readFormBody(req), await readFormBody(req)]
    assert.equal(first.get('a'), '1')
    assert.equal(second.get('b'), '2')
  })

  it('leaves the whole body in the stream for whoever reads the request next', async () => {
    const req = formRequest('a=1&b=2')
    assert.equal((await readFormBody(req)).get('a'), '1')
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    assert.equal(Buffer.concat(chunks).toString(), 'a=1&b=2')
  })

  it(
    'gives an empty form at once for an empty body that has all arrived',
    { timeout: 5000 },
    async () => {
      // Over HTTP: a handler that reads the form after awaiting something finds the (empty) body
      // already at its end.
      const server = createServer((req, res) => {
        void new Promise((resolve) => setTimeout(resolve, 20))
          .then(() => readFormBody(req))
          .then((form) => res.end(`fields: ${[...form.keys()].length}`))
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        const response = await fetch(
          `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: '',
            signal: AbortSignal.timeout(4000),
          },
        )
        assert.equal(await response.text(), 'fields: 0')
      } finally {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    },
  )

  it('holds a later call to its own, smaller limit', async () => {
    const req = formRequest(`a=${'x'.repeat(5000)}`)
    assert.equal((await readFormBody(req)).get('a')?.length, 5000)
    assert.deepEqual([...(await readFormBody(req, 1000)).keys()], [])
  })

  it('gives an empty form for a body over the limit, even to a later call with a higher one', async () => {
    const req = formRequest(`a=${'x'.repeat(5000)}`)
    assert.deepEqual([...(await readFormBody(req, 1000)).keys()], [])
    assert.deepEqual([...(await readFormBody(req, 10_000)).keys()], [])
  })

  it('settles at once for a body that declares more than the limit, without reading it', async () => {
    // A body that never ends: waiting for it would hang the test.
    const req = new Readable({ read() {} }) as unknown as IncomingMessage
    req.headers = {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(5 * 1024 * 1024),
    }
    const read = await readFormBodyOnce(req, 1000)
    assert.deepEqual(read, { form: new URLSearchParams(), bytes: 5 * 1024 * 1024, kept: 1000 })
    assert.equal(req.readableFlowing, null, 'the body was not read')
  })

  it('settles as soon as the chunks pass the limit, before the body ends', async () => {
    const req = new Readable({ read() {} }) as unknown as IncomingMessage
    req.headers = { 'content-type': 'application/x-www-form-urlencoded' }
    const read = readFormBodyOnce(req, 1000)
    req.push(Buffer.alloc(600, 'a'))
    req.push(Buffer.alloc(600, 'b'))
    const { form, bytes, kept } = await read
    assert.deepEqual([[...form.keys()], bytes, kept], [[], 1200, 1000])
    assert.equal(req.listenerCount('readable'), 0, 'the rest is discarded, not collected')
  })
})
