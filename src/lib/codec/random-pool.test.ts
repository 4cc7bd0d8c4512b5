import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createRandomPool } from './random-pool.js'

describe('createRandomPool', () => {
  it('hands out every byte once: no two draws overlap, across refills', () => {
    const pool = createRandomPool(64)
    const draws = Array.from({ length: 200 }, () => Buffer.from(pool(12)).toString('hex'))
    assert.ok(draws.every((draw) => draw.length === 24))
    assert.equal(new Set(draws).size, draws.length)
  })

  it('never changes bytes already handed out when it refills', () => {
    const pool = createRandomPool(32)
    const first = pool(8)
    const copy = Buffer.from(first)
    for (let index = 0; index < 20; index++) pool(8)
    assert.deepEqual(Buffer.from(first), copy)
  })

  it('serves large requests directly, at the size asked', () => {
    const pool = createRandomPool(64)
    assert.equal(pool(1000).length, 1000)
    assert.equal(pool(16).length, 16)
  })
})
