import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  createEncryptedCookieFactory,
  createSignedCookieFactory,
  type InvalidCookieReason,
  type Secrets,
  type Session,
  type SessionFactory,
} from 'cloakroom'

const CURRENT = 'current-secret-0123456789abcdefghijkl'
const OLDER = 'older-secret-0123456789abcdefghijklmn'
const REMOVED = 'removed-secret-0123456789abcdefghijkl'
const STRANGER = 'stranger-secret-0123456789abcdefghijk'
const NOW = 1_800_000_000_000

type Kind = 'signed' | 'encrypted'
type Data = { user?: string }

function factoryFor(
  kind: Kind,
  secrets: Secrets,
  cookieName = 'session',
  reasons: InvalidCookieReason[] = [],
) {
  const options = {
    secrets,
    cookieName,
    now: () => NOW,
    reissueTime: null,
    onInvalidCookie: (reason: InvalidCookieReason) => reasons.push(reason),
  }
  return kind === 'signed'
    ? createSignedCookieFactory<Data>(options)
    : createEncryptedCookieFactory<Data>(options)
}

/** Writes a session for `user` with `factory` and returns the cookie value. */
function mint(factory: SessionFactory<Data>, user: string): string {
  const session = factory.load(undefined) as Session<Data>
  session.set('user', user)
  const [header] = factory.commit(session) as readonly string[]
  return header!.slice(header!.indexOf('=') + 1, header!.indexOf(';'))
}

/** Reads the session from `value` with `factory`, writing nothing. */
function read(factory: SessionFactory<Data>, value: string, cookieName = 'session') {
  const session = factory.load(`${cookieName}=${value}`) as Session<Data>
  const user = session.get('user')
  const isNew = session.isNew
  const headers = factory.commit(session) as readonly string[]
  return { user, isNew, headers }
}

const keyIdOf = (value: string): string => value.split('.')[1]!

describe('key rotation (createSignedCookieFactory, createEncryptedCookieFactory)', () => {
  it('accepts current and older keys, re-issues older ones under the current key, refuses the rest', () => {
    for (const kind of ['signed', 'encrypted'] as const) {
      const reasons: InvalidCookieReason[] = []
      const ring = [
        { id: 'cur', secret: CURRENT },
        { id: 'old', secret: OLDER },
      ]
      const factory = factoryFor(kind, ring, 'session', reasons)
      const rows: { label: string; value: string; user?: string; reason?: InvalidCookieReason }[] =
        [
          {
            label: 'current key',
            value: mint(factoryFor(kind, [ring[0]!]), 'cur-user'),
            user: 'cur-user',
          },
          {
            label: 'older key',
            value: mint(factoryFor(kind, [ring[1]!]), 'old-user'),
            user: 'old-user',
          },
          {
            label: 'removed key',
            value: mint(factoryFor(kind, [{ id: 'gone', secret: REMOVED }]), 'x'),
            reason: 'unknown-key',
          },
          {
            label: 'never-configured secret under the current id',
            value: mint(factoryFor(kind, [{ id: 'cur', secret: STRANGER }]), 'x'),
            reason: 'bad-signature',
          },
          {
            label: 'never-configured secret with its own id',
            value: mint(factoryFor(kind, STRANGER), 'x'),
            reason: 'unknown-key',
          },
        ]
      for (const row of rows) {
        const label = `${kind}: ${row.label}`
        reasons.length = 0
        const { user, isNew, headers } = read(factory, row.value)
        if (row.reason !== undefined) {
          assert.equal(isNew, true, label)
          assert.equal(user, undefined, label)
          assert.deepEqual(reasons, [row.reason], label)
          assert.deepEqual(headers, [], label)
          continue
        }
        assert.equal(isNew, false, label)
        assert.equal(user, row.user, label)
        assert.deepEqual(reasons, [], label)
        if (keyIdOf(row.value) === 'cur') {
          assert.deepEqual(headers, [], `${label}: nothing to re-issue`)
          continue
        }
        // Re-issued on this response although the app only read the session.
        assert.equal(headers.length, 1, `${label}: re-issued`)
        const reissued = headers[0]!.slice('session='.length, headers[0]!.indexOf(';'))
        assert.equal(keyIdOf(reissued), 'cur', `${label}: under the current key`)
        const onlyCurrent = factoryFor(kind, [ring[0]!])
        assert.equal(
          read(onlyCurrent, reissued).user,
          row.user,
          `${label}: readable once the older key is gone`,
        )
        assert.deepEqual(read(factory, reissued).headers, [], `${label}: re-issued once`)
      }
    }
  })

  it('rotates plain-string secrets too: the key id is derived from the secret', () => {
    for (const kind of ['signed', 'encrypted'] as const) {
      const old = mint(factoryFor(kind, OLDER), 'ann')
      const { user, headers } = read(factoryFor(kind, [CURRENT, OLDER]), old)
      assert.equal(user, 'ann', kind)
      assert.equal(headers.length, 1, kind)
      assert.notEqual(keyIdOf(headers[0]!.slice('session='.length)), keyIdOf(old), kind)
    }
  })
})

describe('cross-mode confusion (createSignedCookieFactory, createEncryptedCookieFactory)', () => {
  it('never accepts a value made by the other mode or for another cookie name, even with one secret', () => {
    const cases: { label: string; value: string; reader: Kind; cookieName: string }[] = [
      {
        label: 'signed value → encrypted factory',
        value: mint(factoryFor('signed', CURRENT), 'ann'),
        reader: 'encrypted',
        cookieName: 'session',
      },
      {
        label: 'encrypted value → signed factory',
        value: mint(factoryFor('encrypted', CURRENT), 'ann'),
        reader: 'signed',
        cookieName: 'session',
      },
      {
        label: 'signed value → other cookie name',
        value: mint(factoryFor('signed', CURRENT), 'ann'),
        reader: 'signed',
        cookieName: 'admin',
      },
      {
        label: 'encrypted value → other cookie name',
        value: mint(factoryFor('encrypted', CURRENT), 'ann'),
        reader: 'encrypted',
        cookieName: 'admin',
      },
    ]
    for (const { label, value, reader, cookieName } of cases) {
      const reasons: InvalidCookieReason[] = []
      const factory = factoryFor(reader, CURRENT, cookieName, reasons)
      const { user, isNew, headers } = read(factory, value, cookieName)
      assert.equal(isNew, true, label)
      assert.equal(user, undefined, label)
      assert.deepEqual(headers, [], label)
      assert.equal(reasons.length, 1, `${label}: one onInvalidCookie reason`)
    }
  })
})
