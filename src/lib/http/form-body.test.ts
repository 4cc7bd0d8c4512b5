import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { readFormBody } from './form-body.js'

/** A urlencoded request whose body is `body`. */
function formRequest(body: string): IncomingMessage {
  const req = Readable.from([Buffer.from(body)]) as unknown as IncomingMessage
  req.headers = { 'content-type': 'application/x-www-form-urlencoded' }
  return req
}

describe('readFormBody', () => {
  it('reads the body once and shares it between calls', async () => {
    const req = formRequest('a=1&b=2')
    const [first, second] = [await readFormBody(req), await readFormBody(req)]
    assert.equal(first.get('a'), '1')
    assert.equal(second.get('b'), '2')
  })

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
})
