import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import session from 'express-session'
import {
  LEGACY_SECRET as SECRET,
  expressSessionCookie as expressSession,
  readLegacy,
  sidOf,
  signLegacy as sign,
} from '../../../test/helpers/express-session.js'
import { ConfigError } from '../errors.js'
import { adoptExpressSessions } from './express-session-adopter.js'
import type { ExpressSessionStoreLike } from './express-session-store.js'

/** An express-session store that counts its reads. */
function countingStore(inner: session.Store): ExpressSessionStoreLike & { reads: number } {
  const counting = {
    reads: 0,
    get: (sid: string, callback: (error: unknown, result?: unknown) => void) => {
      counting.reads++
      inner.get(sid, callback)
    },
    set: inner.set.bind(inner),
    destroy: inner.destroy.bind(inner),
  }
  return counting
}

describe('adoptExpressSessions', () => {
  it('adopts a session express-session signed, keeping every field but cookie as data', async () => {
    const legacy = new session.MemoryStore()
    const value = await expressSession(legacy, { counter: 3, passport: { user: 'u1' } })
    const adopter = adoptExpressSessions({
      store: legacy,
      secret: SECRET,
      ownerOf: (data) => (data.passport as { user?: string } | undefined)?.user,
    })
    assert.deepEqual(adopter.cookieNames, ['connect.sid'])
    assert.deepEqual(await adopter.load({ 'connect.sid': value }), {
      data: { counter: 3, passport: { user: 'u1' } },
      owner: 'u1',
    })
  })

  it('verifies with every configured secret, as express-session does', async () => {
    const legacy = new session.MemoryStore()
    const value = await expressSession(legacy, { counter: 1 }, { secret: ['old secret'] })
    const cookies = { 'connect.sid': value }
    const rotated = adoptExpressSessions({ store: legacy, secrets: ['new secret', 'old secret'] })
    assert.deepEqual((await rotated.load(cookies))?.data, { counter: 1 })
    const asArray = adoptExpressSessions({ store: legacy, secret: ['new secret', 'old secret'] })
    assert.deepEqual((await asArray.load(cookies))?.data, { counter: 1 })
    const other = adoptExpressSessions({ store: legacy, secret: 'new secret' })
    assert.equal(await other.load(cookies), undefined)
  })

  it('reads the cookie named by cookieName', async () => {
    const legacy = new session.MemoryStore()
    const value = await expressSession(legacy, { counter: 2 }, { name: 'sid' })
    const adopter = adoptExpressSessions({ store: legacy, secret: SECRET, cookieName: 'sid' })
    assert.deepEqual(adopter.cookieNames, ['sid'])
    assert.deepEqual((await adopter.load({ sid: value }))?.data, { counter: 2 })
  })

  it('refuses unsigned, malformed and wrongly signed cookies without reading the store', async () => {
    const legacy = new session.MemoryStore()
    const value = await expressSession(legacy, { counter: 3 })
    const sid = sidOf(value)
    const signature = value.slice(value.lastIndexOf('.') + 1)
    const store = countingStore(legacy)
    const adopter = adoptExpressSessions({ store, secret: SECRET })
    const flipped = signature[0] === 'A' ? `B${signature.slice(1)}` : `A${signature.slice(1)}`
    const forged: [string, string][] = [
      ['the bare sid (unsigned)', sid],
      ['s: without a signature', `s:${sid}`],
      ['an empty signature', `s:${sid}.`],
      ['a signature made with another secret', sign(sid, 'another secret')],
      ['the signature of another sid', `s:${sid}x.${signature}`],
      ['a changed signature', `s:${sid}.${flipped}`],
      ['a truncated signature', `s:${sid}.${signature.slice(0, -1)}`],
      ['a padded signature', `s:${sid}.${signature}=`],
      ['no sid', `s:.${signature}`],
      ['the signature without s:', `${sid}.${signature}`],
      ['non-ASCII in the signature', `s:${sid}.${signature.slice(0, -1)}é`],
      ['a huge value', `s:${'a'.repeat(10_000)}.${signature}`],
    ]
    for (const [label, cookie] of forged) {
      assert.equal(await adopter.load({ 'connect.sid': cookie }), undefined, label)
    }
    assert.equal(await adopter.load({}), undefined, 'no cookie')
    assert.equal(store.reads, 0)
    assert.ok(await adopter.load({ 'connect.sid': value }), 'the genuine cookie still works')
  })

  it('refuses a signed sid whose record is gone or past its cookie.expires', async () => {
    const legacy = new session.MemoryStore()
    const adopter = adoptExpressSessions({ store: legacy, secret: SECRET })
    assert.equal(await adopter.load({ 'connect.sid': sign('no-such-sid', SECRET) }), undefined)
    const value = await expressSession(legacy, { counter: 3 }, { maxAge: 60_000 })
    const later = adoptExpressSessions({
      store: legacy,
      secret: SECRET,
      now: () => Date.now() + 120_000,
    })
    assert.equal(await later.load({ 'connect.sid': value }), undefined)
    assert.ok(await adopter.load({ 'connect.sid': value }), 'still valid now')
  })

  it('forget destroys the legacy record, but never for a forged cookie', async () => {
    const legacy = new session.MemoryStore()
    const value = await expressSession(legacy, { counter: 3 })
    const adopter = adoptExpressSessions({ store: legacy, secret: SECRET })
    await adopter.forget!({ 'connect.sid': sign(sidOf(value), 'another secret') })
    assert.ok(await readLegacy(legacy, sidOf(value)))
    await adopter.forget!({ 'connect.sid': value })
    assert.equal(await readLegacy(legacy, sidOf(value)), undefined)
  })

  it('rejects with the store error when the store fails', async () => {
    const failure = new Error('connection refused')
    const adopter = adoptExpressSessions({
      store: {
        get: (_sid, callback) => callback(failure),
        set: (_sid, _session, callback) => callback(),
        destroy: () => Promise.reject(failure),
      },
      secret: SECRET,
    })
    const cookies = { 'connect.sid': sign('abc', SECRET) }
    await assert.rejects(adopter.load(cookies), (error) => error === failure)
    await assert.rejects(adopter.forget!(cookies), (error) => error === failure)
  })

  it('throws ConfigError for a missing store, secret or a bad option', () => {
    const store = new session.MemoryStore()
    const cases: [string, () => unknown][] = [
      ['store', () => adoptExpressSessions({ store: {} as ExpressSessionStoreLike, secret: 'x' })],
      ['secret', () => adoptExpressSessions({ store })],
      ['secret', () => adoptExpressSessions({ store, secret: [] })],
      ['secrets', () => adoptExpressSessions({ store, secret: 'x', secrets: ['y'] })],
      ['secrets[1]', () => adoptExpressSessions({ store, secrets: ['x', ''] })],
      ['cookieName', () => adoptExpressSessions({ store, secret: 'x', cookieName: '' })],
    ]
    for (const [option, create] of cases) {
      assert.throws(create, (error: unknown) => {
        assert.ok(error instanceof ConfigError, option)
        assert.equal(error.code, 'ERR_INVALID_OPTION')
        assert.equal(error.option, option)
        return true
      })
    }
  })
})
