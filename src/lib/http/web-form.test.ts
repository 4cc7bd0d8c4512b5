import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MAX_FORM_BYTES } from './form-body.js'
import { readWebForm } from './web-form.js'

/** A chunked urlencoded POST of `chunks` chunks of 64 KiB; counts the bytes pulled from it. */
function streamedForm(chunks: number, last: string): { request: Request; pulled: () => number } {
  let sent = 0
  let pulled = 0
  const chunk = new TextEncoder().encode(`a=${'x'.repeat(64 * 1024 - 3)}&`)
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === chunks) {
        controller.enqueue(new TextEncoder().encode(last))
        controller.close()
        return
      }
      sent++
      pulled += chunk.byteLength
      controller.enqueue(chunk)
    },
  })
  const request = new Request('http://localhost/', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
    duplex: 'half',
  } as RequestInit)
  return { request, pulled: () => pulled }
}

describe('readWebForm', () => {
  it('reads a form from a clone, leaving the body to the handler', async () => {
    const { request } = streamedForm(2, 'csrf_token=t')
    assert.equal((await readWebForm(request))?.get('csrf_token'), 't')
    assert.match(await request.text(), /csrf_token=t$/)
  })

  it('stops reading at the limit, and a larger form reads as none', async () => {
    const { request, pulled } = streamedForm(1000, 'csrf_token=t') // about 64 MiB
    assert.equal(await readWebForm(request), undefined)
    assert.ok(pulled() <= MAX_FORM_BYTES + 4 * 64 * 1024, `pulled ${pulled()} bytes`)
  })

  it('reads nothing of a body whose Content-Length is over the limit, or of another type', async () => {
    const big = new Request('http://localhost/', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(MAX_FORM_BYTES + 1),
      },
      body: 'csrf_token=t',
    })
    assert.equal(await readWebForm(big), undefined)
    const json = new Request('http://localhost/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"csrf_token":"t"}',
    })
    assert.equal(await readWebForm(json), undefined)
  })
})
