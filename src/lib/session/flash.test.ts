import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { jsonSerializer } from './serializer.js'
import { Session, sessionChanges, type SessionInit } from './session.js'

const context = { serializer: jsonSerializer, now: () => 1000 }
const session = (init: Partial<SessionInit> = {}) =>
  new Session<{ '': string; _f_: string }>({ created: 1, isNew: false, ...init }, context)

describe('Session flash messages', () => {
  it('follows the Pyramid sequence: flash, peek, peek, pop, peek', () => {
    const s = session()
    s.flash('m')
    assert.deepEqual(s.peekFlash(), ['m'])
    assert.deepEqual(s.peekFlash(), ['m'])
    assert.deepEqual(s.popFlash(), ['m'])
    assert.deepEqual(s.peekFlash(), [])
  })

  it('refuses an undefined message by its name, queueing nothing', () => {
    const s = session()
    assert.throws(() => s.flash(undefined), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /"message": a flash message cannot be undefined/,
    })
    assert.deepEqual(s.peekFlash(), [])
  })

  it('keeps queues independent', () => {
    const s = session()
    s.flash('info 1')
    s.flash('oops', { queue: 'error' })
    s.flash('info 2')
    assert.deepEqual(s.popFlash('error'), ['oops'])
    assert.deepEqual(s.peekFlash('error'), [])
    assert.deepEqual(s.popFlash(), ['info 1', 'info 2'])
  })

  it('allows duplicates by default and skips equal messages with allowDuplicate: false', () => {
    const s = session()
    s.flash({ text: 'saved' })
    s.flash({ text: 'saved' })
    s.flash({ text: 'saved' }, { allowDuplicate: false })
    s.flash({ text: 'other' }, { allowDuplicate: false })
    s.flash({ text: 'both', level: 'info' })
    s.flash({ level: 'info', text: 'both' }, { allowDuplicate: false })
    assert.deepEqual(s.popFlash(), [
      { text: 'saved' },
      { text: 'saved' },
      { text: 'other' },
      { text: 'both', level: 'info' },
    ])
  })

  it('stores any storable value, and refuses what cannot be stored', () => {
    const s = session()
    s.flash({ when: new Date(5), list: [1, 2] })
    assert.ok((s.peekFlash()[0] as { when: Date }).when instanceof Date)
    assert.throws(() => s.flash(new Map()), { code: 'ERR_UNSERIALIZABLE_VALUE' })
    const message: { text: string; hook?: unknown } = { text: 'changed later' }
    s.flash(message)
    message.hook = () => 1
    assert.throws(() => s.peekFlash(), { code: 'ERR_UNSERIALIZABLE_VALUE' })
  })

  it('returns a copy from peekFlash: changing it changes nothing', () => {
    const s = session({ system: [['flash:', [{ text: 'a' }]]] })
    const peeked = s.peekFlash() as { text: string }[]
    peeked[0]!.text = 'changed'
    peeked.push({ text: 'more' })
    assert.deepEqual(s.peekFlash(), [{ text: 'a' }])
    assert.equal(sessionChanges(s).systemChanges(), undefined)
  })

  it('writes nothing when popping an empty or missing queue', () => {
    const s = session()
    assert.deepEqual(s.popFlash(), [])
    assert.deepEqual(s.popFlash('nothing'), [])
    assert.equal(sessionChanges(s).systemChanges(), undefined)
    assert.equal(sessionChanges(s).dataChanges(), undefined)
  })

  it('keeps flash queues apart from user data named like them', () => {
    const s = session()
    s.set('', 'user data')
    s.set('_f_', 'user data')
    s.flash('message')
    assert.deepEqual([...s.keys()], ['', '_f_'])
    assert.deepEqual(s.popFlash(), ['message'])
    assert.equal(s.get('_f_'), 'user data')
  })

  it('reports flash changes as changes to library fields, not to data', () => {
    const s = session()
    s.flash('m', { queue: 'q' })
    const changes = sessionChanges(s).systemChanges()!
    assert.deepEqual([...changes.set.keys()], ['flash:q'])
    assert.equal(sessionChanges(s).dataChanges(), undefined)
  })
})
