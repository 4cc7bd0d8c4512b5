import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createVerifiedCache } from './verified-cache.js'

describe('createVerifiedCache', () => {
  it('returns what was stored for a value, and nothing for others', () => {
    const cache = createVerifiedCache<number>(10, 100)
    cache.set('a.value', 1)
    assert.equal(cache.get('a.value'), 1)
    assert.equal(cache.get('a.valuf'), undefined)
  })

  it('evicts the oldest entry first and never caches long values', () => {
    const cache = createVerifiedCache<number>(2, 5)
    cache.set('one', 1)
    cache.set('two', 2)
    cache.set('three', 3)
    assert.deepEqual(
      ['one', 'two', 'three'].map((value) => cache.get(value)),
      [undefined, 2, 3],
    )
    cache.set('longer', 4)
    assert.equal(cache.get('longer'), undefined)
  })

  it('keeps the newest entries through long churn, a replaced one in its first place', () => {
    const cache = createVerifiedCache<number>(3, 100)
    cache.set('a', 1)
    cache.set('b', 2)
    cache.set('a', 10) // replaced: still the oldest
    cache.set('c', 3)
    cache.set('d', 4)
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((value) => cache.get(value)),
      [undefined, 2, 3, 4],
    )
    for (let round = 0; round < 5000; round++) cache.set(`v${round}`, round)
    assert.deepEqual(
      ['v4996', 'v4997', 'v4998', 'v4999', 'b', 'd'].map((value) => cache.get(value)),
      [undefined, 4997, 4998, 4999, undefined, undefined],
    )
  })

  it('keyed by the tail, only the whole value hits', () => {
    const cache = createVerifiedCache<string>(10, 100, 4)
    cache.set('first.MAC1', 'first')
    assert.equal(cache.get('first.MAC1'), 'first')
    // Same tail, other text: a miss, so a forged body behind a copied MAC is verified in full.
    assert.equal(cache.get('forged.MAC1'), undefined)
    cache.set('other.MAC1', 'other')
    assert.equal(cache.get('other.MAC1'), 'other')
    assert.equal(cache.get('first.MAC1'), undefined)
    // Values no longer than the tail are their own key.
    cache.set('AB', 'short')
    assert.equal(cache.get('AB'), 'short')
  })

  it('can be turned off', () => {
    const cache = createVerifiedCache<number>(0, 100)
    cache.set('value', 1)
    assert.equal(cache.get('value'), undefined)
  })
})
