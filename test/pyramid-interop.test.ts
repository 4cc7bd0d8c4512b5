import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { createPyramidCodec } from '../src/lib/codec/pyramid-codec.js'
import { withSession } from '../src/lib/adapter/node.js'
import { createPyramidCookieFactory } from '../src/lib/factory/pyramid-cookie-factory.js'
import { systemFields } from '../src/lib/session/session.js'

const SECRET = 'interop-secret: Peña, 64 characters or so, shared by both apps!!'
const APP = fileURLToPath(new URL('./fixtures/pyramid_app.py', import.meta.url))

/** Debian's python first: `python3` on PATH may be another Python without Pyramid. */
function findPython(): { python?: string; reason?: string } {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(python, ['-c', 'import pyramid, webob'], { encoding: 'utf8' })
    if (probe.status === 0) return { python }
  }
  return { reason: 'Pyramid is not importable (apt-get install python3-pyramid)' }
}

const { python, reason } = findPython()
const skip = reason !== undefined && process.env.CI !== 'true' ? reason : false

/** The cookies a browser would keep for 127.0.0.1 (ports do not separate cookies). */
class CookieJar {
  readonly #cookies = new Map<string, string>()

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const name = pair.slice(0, pair.indexOf('='))
      if (/;\s*max-age=0(;|$)/i.test(line)) this.#cookies.delete(name)
      else this.#cookies.set(name, pair.slice(pair.indexOf('=') + 1))
    }
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name)
  }
}

async function call(
  jar: CookieJar,
  url: string,
): Promise<{ body: Record<string, unknown>; setCookie: boolean }> {
  const response = await fetch(url, { headers: { cookie: jar.header() } })
  assert.equal(response.status, 200, `${url} answered ${response.status}`)
  const setCookie = response.headers.getSetCookie().length > 0
  jar.store(response)
  return { body: (await response.json()) as Record<string, unknown>, setCookie }
}

describe('createPyramidCookieFactory with a real Pyramid 2 app', { skip }, () => {
  let pyramid: ChildProcess | undefined
  let cloakroom: Server | undefined
  let pyramidUrl = ''
  let cloakroomUrl = ''

  before(async () => {
    if (python === undefined) assert.fail(`${reason}; CI must install it (.ci/run)`)
    const child = spawn(python, [APP], {
      env: { ...process.env, PYRAMID_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    pyramid = child
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const lines = createInterface({ input: child.stdout })
    const [port] = (await Promise.race([
      once(lines, 'line'),
      once(child, 'exit').then(() => assert.fail(`the Pyramid app exited: ${stderr}`)),
    ])) as [string]
    lines.close()
    pyramidUrl = `http://127.0.0.1:${Number(port)}`

    const factory = createPyramidCookieFactory({ secret: SECRET, secure: false })
    const listener = withSession(factory, (req, res) => {
      const { session } = req
      const system = systemFields(session)
      const read = () => ({
        session: session.toJSON(),
        flash: system.read('flash:') ?? [],
        error: system.read('flash:error') ?? [],
        csrf: system.read('csrf'),
        isNew: session.isNew,
      })
      const before = read()
      if (req.url === '/visit') {
        session.set('count', ((session.get('count') as number | undefined) ?? 0) + 1)
        const nested = session.get('nested') as { by: string[] } | undefined
        if (nested === undefined) session.set('nested', { by: ['cloakroom'] })
        else nested.by.push('cloakroom')
        session.set('greeting', 'Grüße ✓ 日本')
        system.set('flash:', [...(before.flash as string[]), 'from cloakroom'])
      }
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(before))
    })
    cloakroom = createServer((req, res) => void listener(req, res))
    cloakroom.listen(0, '127.0.0.1')
    await once(cloakroom, 'listening')
    cloakroomUrl = `http://127.0.0.1:${(cloakroom.address() as AddressInfo).port}`
  })

  after(async () => {
    if (cloakroom !== undefined) {
      cloakroom.close()
      await once(cloakroom, 'close')
    }
    if (pyramid !== undefined && pyramid.exitCode === null) {
      pyramid.kill()
      await once(pyramid, 'exit')
    }
  })

  it('shares one session both ways: counter, nested data, text, flash queues and CSRF token', async () => {
    const jar = new CookieJar()

    // 1. Pyramid starts the session.
    const first = await call(jar, `${pyramidUrl}/visit`)
    assert.deepEqual(first.body.before, {})
    const csrf = first.body.csrf as string
    assert.match(csrf, /^[0-9a-f]{40}$/)
    const pyramidCookie = jar.get('session')
    assert.ok(pyramidCookie !== undefined, 'Pyramid set the session cookie')

    // 2. Cloakroom reads it and changes it.
    const second = await call(jar, `${cloakroomUrl}/visit`)
    assert.deepEqual(second.body, {
      session: { count: 1, nested: { by: ['pyramid'] }, name: 'Peña € 日本' },
      flash: ['from pyramid'],
      error: ['pyramid error'],
      csrf,
      isNew: false,
    })
    assert.equal(second.setCookie, true)
    assert.notEqual(jar.get('session'), pyramidCookie, 'Cloakroom wrote a new cookie')

    // 3. Pyramid reads what Cloakroom wrote and changes it again.
    const third = await call(jar, `${pyramidUrl}/visit`)
    assert.deepEqual(third.body.before, {
      count: 2,
      nested: { by: ['pyramid', 'cloakroom'] },
      name: 'Peña € 日本',
      greeting: 'Grüße ✓ 日本',
      _f_: ['from pyramid', 'from cloakroom'],
      _f_error: ['pyramid error'],
      _csrft_: csrf,
    })
    assert.equal(third.body.csrf, csrf, 'the CSRF token survived the trip through Cloakroom')

    // 4. Cloakroom sees Pyramid's latest changes.
    const fourth = await call(jar, `${cloakroomUrl}/visit`)
    assert.deepEqual(fourth.body.session, {
      count: 3,
      nested: { by: ['pyramid', 'cloakroom', 'pyramid'] },
      name: 'Peña € 日本',
      greeting: 'Grüße ✓ 日本',
    })
    assert.deepEqual(fourth.body.flash, ['from pyramid', 'from cloakroom', 'from pyramid'])

    // 5. Pyramid pops the flash queues Cloakroom appended to.
    const popped = await call(jar, `${pyramidUrl}/pop`)
    assert.deepEqual(popped.body, {
      flash: ['from pyramid', 'from cloakroom', 'from pyramid', 'from cloakroom'],
      error: ['pyramid error', 'pyramid error'],
    })
    const last = await call(jar, `${cloakroomUrl}/read`)
    assert.deepEqual(last.body.flash, [])
    assert.equal((last.body.session as { count: number }).count, 4)
  })

  it('is refused by Pyramid, and refuses Pyramid, when the secrets differ', async () => {
    const jar = new CookieJar()
    await call(jar, `${pyramidUrl}/visit`)
    const other = createPyramidCookieFactory({ secret: `${SECRET}-but-another`, secure: false })
    const session = other.load(`session=${jar.get('session')}`)
    assert.ok(!(session instanceof Promise))
    assert.equal(session.isNew, true)
    session.set('forged', true)
    const [header] = other.commit(session) as readonly string[]
    const forged = new CookieJar()
    forged.store(new Response(null, { headers: { 'set-cookie': header! } }))
    const read = await call(forged, `${pyramidUrl}/read`)
    assert.deepEqual(read.body, { session: {}, new: true })
  })

  it("matches webob's SignedSerializer for every hashalg and for latin-1 and UTF-8 secrets", () => {
    const cases = [
      {
        secret: 'Peña-latin-1-secret-ñññññññññññññññññññññ',
        salt: 'pyramid.session.',
        hashalg: 'sha512',
      },
      {
        secret: 'p€ña-utf-8-secret-€€€€€€€€€€€€€€€€€€€€€€€€',
        salt: 'pyramid.session.',
        hashalg: 'sha512',
      },
      { secret: 'x'.repeat(32), salt: 'ñ.', hashalg: 'sha1' },
      ...[
        'sha224',
        'sha256',
        'sha384',
        'sha512_224',
        'sha512_256',
        'sha3_224',
        'sha3_256',
        'sha3_384',
      ].map((hashalg) => ({ secret: 'y'.repeat(40), salt: 'f.', hashalg })),
      { secret: 'z'.repeat(1024), salt: 'f.', hashalg: 'sha3_512' },
      { secret: 'z'.repeat(64), salt: 'f.', hashalg: 'blake2b' },
      { secret: 'z'.repeat(64), salt: 'f.', hashalg: 'blake2s' },
    ].map((options) => ({
      ...options,
      value: createPyramidCodec(options).encode({
        created: 1_700_000_000_500,
        lastActive: 1_700_000_001_000,
        body: JSON.stringify({ d: { text: 'Grüße ✓', n: [1, 2.5] }, s: { csrf: 'c' } }),
      }),
    }))
    const script = [
      'import json, sys',
      'from webob.cookies import SignedSerializer',
      'out = []',
      'for c in json.load(sys.stdin):',
      '    out.append(SignedSerializer(c["secret"], c["salt"], c["hashalg"]).loads(c["value"]))',
      '    back = SignedSerializer(c["secret"], c["salt"], c["hashalg"]).dumps([1700000001, 1700000000.5, {"k": "\u00e9"}])',
      '    out.append(back.decode("ascii"))',
      'print(json.dumps(out))',
    ].join('\n')
    const run = spawnSync(python!, ['-c', script], {
      input: JSON.stringify(cases),
      encoding: 'utf8',
    })
    assert.equal(run.status, 0, run.stderr)
    const results = JSON.parse(run.stdout) as unknown[]
    cases.forEach((options, index) => {
      assert.deepEqual(
        results[index * 2],
        [1_700_000_001, 1_700_000_000.5, { text: 'Grüße ✓', n: [1, 2.5], _csrft_: 'c' }],
        `webob reads ${options.hashalg} / ${options.secret.slice(0, 4)}`,
      )
      const decoded = createPyramidCodec(options).decode(results[index * 2 + 1] as string)
      assert.ok(
        decoded.ok,
        `Cloakroom reads webob's ${options.hashalg} / ${options.secret.slice(0, 4)}`,
      )
      assert.deepEqual(JSON.parse(decoded.payload.body), { d: { k: 'é' } })
    })
  })
})
