/**
 * Large sessions over real HTTP (`overflow: 'split'`).
 *
 * What fits: Node's HTTP server refuses a request whose request line and headers together exceed
 * 16 KiB (`--max-http-header-size`, default 16384 bytes) with `431`, before any handler runs. The
 * session's cookies share that budget with the request line, `Host`, `User-Agent`, `Accept*` and
 * every other cookie of the site: a browser typically spends 0.5 to 2 KB on those. So:
 *
 * - about 1 KB: one cookie, as without splitting;
 * - about 6 KB: two chunks, within the default budget (`maxTotalCookieBytes`, 12 KiB);
 * - about 14 KB: four chunks; more than the default budget (the commit throws
 *   `CookieTooLargeError`, a 500), and it works with `maxTotalCookieBytes: 14 * 1024` only
 *   because these test requests carry almost no other headers: 14 KiB of cookies leaves 2 KiB of
 *   Node's 16 KiB for everything else. Behind nginx (8 KiB per header line by default) it would
 *   not fit at all.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  createEncryptedCookieFactory,
  createSignedCookieFactory,
  type SessionFactory,
} from 'cloakroom'
import { withSession } from 'cloakroom/node'
import { CookieJar, rawRequest, startServer, type TestServer } from './helpers/http.js'

const SECRET = 'large-session-secret-0123456789abcdef'
type Data = { blob?: string }

/** A server that stores `?bytes=N` characters in the session and echoes the stored length. */
async function serve(factory: SessionFactory<Data>, errors: unknown[] = []): Promise<TestServer> {
  return startServer(
    withSession(
      factory,
      (req, res) => {
        const bytes = new URL(req.url!, 'http://x').searchParams.get('bytes')
        if (bytes !== null) req.session.set('blob', 'b'.repeat(Number(bytes)))
        res.end(String(req.session.get('blob')?.length ?? 'none'))
      },
      { onError: (error) => errors.push(error) },
    ),
  )
}

/** Blob length whose encrypted cookies come to about `bytes` in the Cookie header. */
const blobFor = (bytes: number): number => Math.floor(bytes * 0.75) - 150

/** The cookie names in the jar, sorted. */
const namesIn = (jar: CookieJar): string[] =>
  (jar.header() ?? '')
    .split('; ')
    .filter(Boolean)
    .map((pair) => pair.slice(0, pair.indexOf('=')))
    .sort()

describe('large sessions over HTTP (withSession, overflow: split)', () => {
  let split: TestServer
  let roomy: TestServer
  const errors: unknown[] = []

  before(async () => {
    split = await serve(
      createEncryptedCookieFactory<Data>({ secrets: SECRET, overflow: 'split' }),
      errors,
    )
    roomy = await serve(
      createEncryptedCookieFactory<Data>({
        secrets: SECRET,
        overflow: 'split',
        maxTotalCookieBytes: 14 * 1024,
      }),
    )
  })
  after(async () => {
    await split.close()
    await roomy.close()
  })

  it('keeps a ~1 KB session in one cookie', async () => {
    const jar = new CookieJar()
    await jar.fetch(`${split.url}/?bytes=${blobFor(1024)}`)
    assert.deepEqual(namesIn(jar), ['session'])
    const size = jar.header()!.length
    assert.ok(size > 900 && size <= 1024, `cookie header is ${size} bytes`)
    assert.equal((await jar.fetch(split.url)).body, String(blobFor(1024)))
  })

  it('splits a ~6 KB session over two cookies and reads it back', async () => {
    const jar = new CookieJar()
    const response = await jar.fetch(`${split.url}/?bytes=${blobFor(6 * 1024)}`)
    assert.equal(response.status, 200)
    assert.deepEqual(namesIn(jar), ['session.0', 'session.1'])
    for (const header of response.setCookies) assert.ok(header.length <= 4096)
    const size = jar.header()!.length
    assert.ok(size > 5500 && size <= 6 * 1024, `cookie header is ${size} bytes`)
    assert.equal((await jar.fetch(split.url)).body, String(blobFor(6 * 1024)))
  })

  it('splits with the signed factory as well', async () => {
    const signed = await serve(
      createSignedCookieFactory<Data>({ secrets: SECRET, overflow: 'split' }),
    )
    try {
      const jar = new CookieJar()
      await jar.fetch(`${signed.url}/?bytes=4500`)
      assert.deepEqual(namesIn(jar), ['session.0', 'session.1'])
      assert.equal((await jar.fetch(signed.url)).body, '4500')
    } finally {
      await signed.close()
    }
  })

  it('refuses a ~14 KB session under the default 12 KiB budget: 500 and CookieTooLargeError', async () => {
    const jar = new CookieJar()
    errors.length = 0
    const response = await jar.fetch(`${split.url}/?bytes=${blobFor(14 * 1024)}`)
    assert.equal(response.status, 500)
    assert.deepEqual(response.setCookies, [])
    assert.equal((errors[0] as { code?: string }).code, 'ERR_COOKIE_TOO_LARGE')
  })

  it('carries a ~14 KB session in four cookies with maxTotalCookieBytes: 14 KiB, and shrinks back', async () => {
    const jar = new CookieJar()
    const response = await jar.fetch(`${roomy.url}/?bytes=${blobFor(14 * 1024)}`)
    assert.equal(response.status, 200)
    assert.deepEqual(namesIn(jar), ['session.0', 'session.1', 'session.2', 'session.3'])
    const size = jar.header()!.length
    assert.ok(size > 13_500 && size <= 14 * 1024, `cookie header is ${size} bytes`)
    assert.equal((await jar.fetch(roomy.url)).body, String(blobFor(14 * 1024)))
    // Shrinking deletes the four chunks and goes back to one cookie.
    await jar.fetch(`${roomy.url}/?bytes=10`)
    assert.deepEqual(namesIn(jar), ['session'])
    assert.equal((await jar.fetch(roomy.url)).body, '10')
  })

  it("keeps a session near the default budget within Node's 16 KiB header limit, which answers 431 past it", async () => {
    const jar = new CookieJar()
    assert.equal((await jar.fetch(`${split.url}/?bytes=${blobFor(11 * 1024)}`)).status, 200)
    const size = jar.header()!.length
    assert.ok(size > 10_500 && size <= 12 * 1024, `cookie header is ${size} bytes`)
    assert.equal((await jar.fetch(split.url)).body, String(blobFor(11 * 1024)))
    // The margin the default leaves is needed: a larger Cookie header never reaches the app.
    const response = await rawRequest(split.url, {
      headers: [['cookie', `other=${'o'.repeat(16 * 1024)}`]],
    })
    assert.equal(response.status, 431)
  })
})
