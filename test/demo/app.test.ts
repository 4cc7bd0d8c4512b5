import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { StoreUnavailableError } from 'cloakroom'
import type { DemoConfig } from '../../examples/demo/config.js'
import { MAX_BODY_BYTES } from '../../examples/demo/app.js'
import { html } from '../../examples/demo/html.js'
import { startDemo, type RunningDemo } from '../../examples/demo/start.js'
import { unfinishedPost } from '../helpers/http.js'
import { createBarrier, csrfTokenIn, DemoClient, textOf } from './client.js'

const SECRET = 'demo-test-secret-'.padEnd(43, 'x')

function configFor(dataDir: string, factoryName: DemoConfig['factoryName']): DemoConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    factoryName,
    dataDir,
    secureCookies: true,
    ...(factoryName === 'signed' || factoryName === 'encrypted' ? { secret: SECRET } : {}),
  }
}

async function logIn(client: DemoClient, username: string): Promise<void> {
  const response = await client.submit('/', '/login', { username, password: 'cloakroom' })
  assert.equal(response.status, 303)
  assert.equal(response.location, '/')
}

describe('the demo app (SQLite sessions, over HTTP)', () => {
  let demo: RunningDemo
  let dataDir: string
  let beforeCartChange: () => Promise<void> = () => Promise.resolve()

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-demo-'))
    demo = await startDemo(configFor(dataDir, 'sqlite'), {
      beforeCartChange: () => beforeCartChange(),
    })
  })
  after(async () => {
    await demo.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('serves the inspector to a new visitor without setting a cookie', async () => {
    const response = await new DemoClient(demo.url).get('/inspector')
    assert.equal(response.status, 200)
    assert.deepEqual(response.setCookies, [], 'reading a session never creates one')
    const text = textOf(response.body)
    assert.match(text, /isNew true/)
    assert.match(text, /no session cookie came with this request/)
    assert.match(text, /server-side, SQLite/)
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/)
  })

  it('refuses a login form without a valid CSRF token', async () => {
    const client = new DemoClient(demo.url)
    await client.get('/') // the login form gives the session a token
    const missing = await client.post('/login', { username: 'mallory', password: 'cloakroom' })
    assert.equal(missing.status, 403)
    const wrong = await client.post('/login', {
      username: 'mallory',
      password: 'cloakroom',
      csrf_token: 'A'.repeat(43),
    })
    assert.equal(wrong.status, 403)
    assert.match(textOf((await client.get('/')).body), /Not logged in/)
  })

  it('answers a refused form with an HTML page in the site layout, with a way back', async () => {
    const client = new DemoClient(demo.url)
    await client.get('/')
    const refused = await client.post('/login', { username: 'mallory', password: 'cloakroom' })
    assert.equal(refused.status, 403)
    assert.match(refused.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(refused.headers.get('content-security-policy') ?? '', /default-src 'none'/)
    assert.match(refused.body, /<html lang="en">/)
    assert.match(refused.body, /<title>\s*Form refused · Cloakroom demo\s*<\/title>/)
    assert.match(refused.body, /<h1>Form refused<\/h1>/)
    assert.match(refused.body, /<a href="\/">go to the home page<\/a>/)
    assert.match(textOf(refused.body), /it is out of date .* or it came from another site/)
    assert.match(textOf(refused.body), /Not logged in/, 'the usual header and navigation')
  })

  it('refuses a body over the limit with 413 before reading it, even with a valid CSRF header', async () => {
    const client = new DemoClient(demo.url)
    const token = csrfTokenIn((await client.get('/cart')).body)
    const headers = {
      cookie: client.cookieHeader()!,
      'x-csrf-token': token,
      'content-type': 'application/x-www-form-urlencoded',
    }
    const url = `${demo.url}/cart/add`
    // 50 MB announced, 100 KB sent: answered without waiting for the rest.
    const announced = await unfinishedPost(url, headers, 50_000_000, 100_000)
    assert.equal(announced.status, 413)
    // No Content-Length (chunked): answered once MAX_BODY_BYTES have come.
    const chunked = await unfinishedPost(url, headers, undefined, MAX_BODY_BYTES + 1)
    assert.equal(chunked.status, 413)

    const padding = 'x'.repeat(MAX_BODY_BYTES)
    const page = await client.request('/cart/add', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': token },
      body: new URLSearchParams({ product: 'hat', padding }).toString(),
    })
    assert.equal(page.status, 413)
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(page.body, /<html lang="en">/)
    assert.match(page.body, /<h1>Form too large<\/h1>/)
    assert.match(textOf(page.body), /more than 64 KiB/)
    assert.match(page.body, /<a href="\/">Go to the home page<\/a>/)
    assert.match((await client.get('/cart')).body, /id="cart-empty"/, 'nothing was added')

    const small = await client.request('/cart/add', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': token },
      body: new URLSearchParams({ product: 'hat', padding: 'x'.repeat(1000) }).toString(),
    })
    assert.equal(small.status, 303, 'a form under the limit is read as before')
    assert.match((await client.get('/cart')).body, /data-product="hat"/)
  })

  it('logs in with a new session id and shows the welcome flash exactly once', async () => {
    const client = new DemoClient(demo.url)
    await client.get('/')
    const before = client.cookie('session')
    assert.ok(before)
    await logIn(client, 'alice')
    assert.notEqual(client.cookie('session'), before, 'regenerate() issued a new id')
    const first = textOf((await client.get('/')).body)
    assert.match(first, /Welcome, alice! You are logged in\./)
    assert.match(first, /Logged in as alice/)
    const second = textOf((await client.get('/')).body)
    assert.doesNotMatch(second, /Welcome, alice!/, 'a flash is shown once')
    assert.match(second, /Logged in as alice/)
  })

  it('refuses a wrong password with an error flash', async () => {
    const client = new DemoClient(demo.url)
    const response = await client.submit('/', '/login', { username: 'bob', password: 'nope' })
    assert.equal(response.status, 303)
    const text = textOf((await client.get('/')).body)
    assert.match(text, /Wrong password/)
    assert.match(text, /Not logged in/)
  })

  it('says on the home page that the cart is safe in two tabs with a server-side store', async () => {
    const text = textOf((await new DemoClient(demo.url).get('/')).body)
    assert.match(text, /0 items; changed in place, safe in two tabs at once\./)
  })

  it('changes cart lines in place: the same product twice gives a quantity of 2', async () => {
    const client = new DemoClient(demo.url)
    await client.submit('/cart', '/cart/add', { product: 'hat' })
    await client.submit('/cart', '/cart/add', { product: 'hat' })
    const cart = (await client.get('/cart')).body
    assert.match(cart, /<tr data-product="hat">[\s\S]*?<td class="quantity">2<\/td>/)
    await client.submit('/cart', '/cart/remove', { product: 'hat' })
    assert.match((await client.get('/cart')).body, /<td class="quantity">1<\/td>/)
    const inspector = (await client.get('/inspector')).body
    assert.match(inspector, /&quot;cart:hat&quot;: \{\s*&quot;quantity&quot;: 1/)
  })

  it('keeps both items when two requests add different products at the same time', async () => {
    const client = new DemoClient(demo.url)
    await logIn(client, 'carol')
    const token = /name="csrf_token" value="([^"]+)"/.exec((await client.get('/cart')).body)![1]!
    beforeCartChange = createBarrier(2) // both requests have loaded the session before either saves
    try {
      const results = await Promise.all([
        client.post('/cart/add', { product: 'umbrella', csrf_token: token }),
        client.post('/cart/add', { product: 'scarf', csrf_token: token }),
      ])
      assert.deepEqual(
        results.map((result) => result.status),
        [303, 303],
      )
    } finally {
      beforeCartChange = () => Promise.resolve()
    }
    const cart = (await client.get('/cart')).body
    assert.match(cart, /data-product="umbrella"/)
    assert.match(cart, /data-product="scarf"/)
  })

  it('ends the server-side session on logout, so the old cookie is worthless', async () => {
    const client = new DemoClient(demo.url)
    await logIn(client, 'dave')
    const oldCookie = client.cookieHeader()!
    const replay = (): Promise<Response> =>
      fetch(new URL('/inspector', demo.url), { headers: { cookie: oldCookie } })
    assert.match(textOf(await (await replay()).text()), /Logged in as dave/)

    const response = await client.submit('/', '/logout')
    assert.equal(response.status, 303)
    const home = textOf((await client.get('/')).body)
    assert.match(home, /You are logged out\./)
    assert.match(home, /Not logged in/)
    const replayed = textOf(await (await replay()).text())
    assert.match(replayed, /Not logged in/)
    assert.match(replayed, /isNew true/)
  })

  it('lists the devices of a user and logs out the other ones', async () => {
    const laptop = new DemoClient(demo.url)
    const phone = new DemoClient(demo.url)
    await logIn(laptop, 'erin')
    await logIn(phone, 'erin')
    const devices = (await laptop.get('/devices')).body
    assert.match(textOf(devices), / 2 sessions /)
    assert.equal(devices.match(/\(this device\)/g)?.length, 1)

    const response = await laptop.submit('/devices', '/devices/logout-others')
    assert.equal(response.status, 303)
    const after = textOf((await laptop.get('/devices')).body)
    assert.match(after, /Logged out 1 other session\./)
    assert.match(after, /1 session /)
    const phoneHome = await phone.get('/devices')
    assert.equal(phoneHome.status, 303, 'the phone is logged out: sent home')
    const phoneText = textOf((await phone.get('/')).body)
    assert.match(phoneText, /Log in to see your devices\./)
    assert.match(phoneText, /Not logged in/)
  })

  it('shows created, isNew, the data, the cookie size and the factory', async () => {
    const client = new DemoClient(demo.url)
    await logIn(client, 'frank')
    const body = (await client.get('/inspector')).body
    const text = textOf(body)
    assert.match(text, /isNew false/)
    assert.match(text, /created \d{4}-\d\d-\d\d \d\d:\d\d UTC/)
    const bytes = Buffer.byteLength(`session=${client.cookie('session')!}`)
    assert.match(text, new RegExp(`Cookie size ${bytes} bytes`))
    assert.match(body, /&quot;user&quot;: &quot;frank&quot;/)
    assert.match(text, /Id hash [A-Za-z0-9_-]{43}/)
  })

  it('answers the Fred page about the session the request came with: not, not, was', async () => {
    const client = new DemoClient(demo.url)
    const answers: string[] = []
    for (let visit = 0; visit < 3; visit++) {
      answers.push(
        /<p class="answer">([^<]*)<\/p>/.exec((await client.get('/fred')).body)![1]!.trim(),
      )
    }
    assert.deepEqual(answers, [
      'Fred was not in the session',
      'Fred was not in the session',
      'Fred was in the session',
    ])
  })

  it('answers a form address opened as a page with 405 and Allow: POST', async () => {
    const client = new DemoClient(demo.url)
    for (const path of ['/login', '/logout', '/cart/add', '/devices/logout-others']) {
      const response = await client.get(path)
      assert.equal(response.status, 405, path)
      assert.equal(response.headers.get('allow'), 'POST', path)
      assert.match(response.body, /<h1>Use the form<\/h1>/, path)
    }
  })

  it('answers a multipart body that does not parse with a 400 page, not a 500', async () => {
    const client = new DemoClient(demo.url)
    const token = csrfTokenIn((await client.get('/cart')).body)
    const response = await client.request('/cart/add', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=XX', 'x-csrf-token': token },
      body: 'garbage',
    })
    assert.equal(response.status, 400)
    assert.match(response.body, /<h1>Bad form<\/h1>/)
    assert.match(textOf((await client.get('/cart')).body), /Your cart is empty/)
  })

  it('serves its stylesheet without loading a session, and a 404 page', async () => {
    const client = new DemoClient(demo.url)
    const css = await client.get('/style.css')
    assert.equal(css.status, 200)
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/)
    assert.deepEqual(css.setCookies, [])
    assert.equal((await client.get('/nowhere')).status, 404)
  })
})

describe('the demo app when its session store fails', () => {
  let demo: RunningDemo
  let dataDir: string

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-demo-'))
    demo = await startDemo(configFor(dataDir, 'sqlite'))
  })
  after(async () => {
    await demo.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  const outage = (operation: string): Promise<never> =>
    Promise.reject(new StoreUnavailableError(operation, { cause: new Error('injected outage') }))

  it('answers 503 with no-store when the store fails inside a handler (listing devices)', async () => {
    const client = new DemoClient(demo.url)
    await logIn(client, 'ivan')
    const factory = demo.backend.storeFactory!
    const listSessions = factory.listSessions.bind(factory)
    factory.listSessions = () => outage('listSessions')
    try {
      const response = await client.get('/devices')
      assert.equal(response.status, 503)
      assert.equal(response.headers.get('cache-control'), 'no-store')
      assert.match(response.body, /<h1>Try again shortly<\/h1>/)
    } finally {
      factory.listSessions = listSessions
    }
    assert.equal((await client.get('/devices')).status, 200, 'served again once the store is back')
  })

  it('answers the same 503 page when the session cannot be loaded', async () => {
    const factory = demo.backend.factory
    const load = factory.load.bind(factory)
    factory.load = () => outage('load')
    try {
      const response = await new DemoClient(demo.url).get('/')
      assert.equal(response.status, 503)
      assert.equal(response.headers.get('cache-control'), 'no-store')
      assert.match(response.body, /<h1>Try again shortly<\/h1>/)
      assert.deepEqual(response.setCookies, [])
    } finally {
      factory.load = load
    }
  })
})

describe('the demo app (signed cookie sessions, over HTTP)', () => {
  let demo: RunningDemo
  let dataDir: string

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-demo-'))
    demo = await startDemo(configFor(dataDir, 'signed'))
  })
  after(async () => {
    await demo.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('logs in and keeps a cart in the cookie; the devices page has no list', async () => {
    const client = new DemoClient(demo.url)
    await logIn(client, 'grace')
    await client.submit('/cart', '/cart/add', { product: 'gloves' })
    assert.match((await client.get('/cart')).body, /data-product="gloves"/)
    const devices = textOf((await client.get('/devices')).body)
    assert.match(devices, /No list with the signed cookie factory/)
    const inspector = textOf((await client.get('/inspector')).body)
    assert.match(inspector, /signed cookie \(createSignedCookieFactory\)/)
    const bytes = Buffer.byteLength(`session=${client.cookie('session')!}`)
    assert.match(inspector, new RegExp(`Cookie size ${bytes} bytes`))
  })

  it('ends the cookie on logout, so a copy of it is refused (revocation)', async () => {
    const client = new DemoClient(demo.url)
    await logIn(client, 'heidi')
    const oldCookie = client.cookieHeader()!
    const replay = async (): Promise<string> =>
      textOf(
        await (
          await fetch(new URL('/inspector', demo.url), { headers: { cookie: oldCookie } })
        ).text(),
      )
    assert.match(await replay(), /Logged in as heidi/)
    assert.equal((await client.submit('/', '/logout')).status, 303)
    assert.match(textOf((await client.get('/')).body), /You are logged out\./)
    const replayed = await replay()
    assert.match(replayed, /Not logged in/)
    assert.match(replayed, /isNew true/)
  })

  it('logs out the other devices of a user, keeping this one', async () => {
    const laptop = new DemoClient(demo.url)
    const phone = new DemoClient(demo.url)
    await logIn(laptop, 'judy')
    await logIn(phone, 'judy')
    const response = await laptop.submit('/devices', '/devices/logout-others')
    assert.equal(response.status, 303)
    assert.match(textOf((await laptop.get('/devices')).body), /Logged out every other device\./)
    assert.match(textOf((await laptop.get('/')).body), /Logged in as judy/)
    assert.match(textOf((await phone.get('/')).body), /Not logged in/)
  })

  it('does not claim on the home page that the cart is safe in two tabs', async () => {
    const text = textOf((await new DemoClient(demo.url).get('/')).body)
    assert.doesNotMatch(text, /safe in two tabs/)
    assert.match(
      text,
      /0 items; changed in place; all in the cookie, so two tabs adding at once can lose an item\./,
    )
  })

  it('keeps a cart of any length of clicking within one cookie: 99 of a product at most', async () => {
    const client = new DemoClient(demo.url)
    const token = csrfTokenIn((await client.get('/cart')).body)
    for (let i = 0; i < 101; i++) {
      const added = await client.post('/cart/add', { product: 'hat', csrf_token: token })
      assert.equal(added.status, 303, `add ${i + 1}`)
    }
    const cart = await client.get('/cart')
    assert.match(cart.body, /<tr data-product="hat">[\s\S]*?<td class="quantity">99<\/td>/)
    assert.match(textOf(cart.body), /A cart holds at most 99 of each product/)
    assert.ok(Buffer.byteLength(client.cookie('session')!) < 1024)
  })
})

describe('html (the demo views)', () => {
  it('escapes interpolated text and keeps nested templates', () => {
    const name = `<script>alert("x")</script> & 'co'`
    assert.equal(
      html`<p title="${name}">${html`<b>${name}</b>`}</p>`.toString(),
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;">' +
        '<b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</b></p>',
    )
  })
})
