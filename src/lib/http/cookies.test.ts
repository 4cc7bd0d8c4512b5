import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatLifetime, readChunkedCookie } from './cookies.js'

describe('formatLifetime', () => {
  it('gives Max-Age and the matching Expires date, whatever was asked before', () => {
    const t = Date.UTC(2026, 10, 26, 10, 0, 0, 250)
    assert.equal(formatLifetime(undefined, t), '')
    assert.equal(formatLifetime(60, t), '; Max-Age=60; Expires=Thu, 26 Nov 2026 10:01:00 GMT')
    // Same second, another max age; then the next second: never a stale string.
    assert.equal(
      formatLifetime(3600, t + 10),
      '; Max-Age=3600; Expires=Thu, 26 Nov 2026 11:00:00 GMT',
    )
    assert.equal(formatLifetime(60, t + 10), '; Max-Age=60; Expires=Thu, 26 Nov 2026 10:01:00 GMT')
    assert.equal(formatLifetime(60, t + 750), '; Max-Age=60; Expires=Thu, 26 Nov 2026 10:01:01 GMT')
  })
})

describe('readChunkedCookie', () => {
  it('reads the cookie and its numbered chunks, ignoring indexes past the limit', () => {
    const header = 'a=1; session=whole; session.1=B; session.0=A; session.9=Z; session.x=Q'
    assert.deepEqual(readChunkedCookie(header, 'session', 4), {
      value: 'whole',
      chunks: ['A', 'B'],
    })
    assert.deepEqual(readChunkedCookie(header, 'session', 0), { value: 'whole', chunks: [] })
    assert.deepEqual(readChunkedCookie('other=1', 'session', 4), { value: undefined, chunks: [] })
  })
})
