/**
 * The demo in a real browser: Debian's Chromium (`apt-get install chromium`, done by `.ci/run`),
 * driven by playwright-core. No browser is ever downloaded. Without Chromium the suite is skipped
 * with a reason locally, and fails with CI=true.
 */
import assert from 'node:assert/strict'
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startDemo, type RunningDemo } from '../../examples/demo/start.js'
import { createBarrier, textOf } from './client.js'

const ARTIFACT = join('test-artifacts', 'demo-home.png')
const README_SCREENSHOT = join('docs', 'demo.png')

/** WCAG relative luminance of a computed `rgb(r, g, b)` colour. */
function luminance(rgb: string): number {
  const [r, g, b] = (rgb.match(/\d+/g) ?? []).slice(0, 3).map((part) => {
    const channel = Number(part) / 255
    return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4
  })
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
}

/** WCAG contrast ratio of two computed colours. */
function contrast(one: string, two: string): number {
  const [light, dark] = [luminance(one), luminance(two)].sort((a, b) => b - a)
  return (light! + 0.05) / (dark! + 0.05)
}

function findOnPath(command: string): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue
    const candidate = join(directory, command)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

const executablePath = findOnPath('chromium')
function skipReason(): string | false {
  if (executablePath !== undefined) return false
  const reason = 'chromium is not on PATH (Debian: apt-get install chromium)'
  if (process.env.CI === 'true')
    throw new Error(`${reason}; with CI=true the browser tests must run`)
  return reason
}

describe('the demo in Chromium', { skip: skipReason(), timeout: 90_000 }, () => {
  let demo: RunningDemo
  let dataDir: string
  let url: string
  let browser: Browser
  let laptop: BrowserContext
  let beforeCartChange: () => Promise<void> = () => Promise.resolve()

  const newContext = async (): Promise<BrowserContext> => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 720 } })
    context.setDefaultTimeout(10_000)
    return context
  }
  const logIn = async (page: Page, username: string): Promise<void> => {
    await page.goto(url)
    await page.getByLabel('User name').fill(username)
    await page.getByLabel('Password').fill('cloakroom')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${url}/`)
  }
  const text = async (page: Page): Promise<string> => textOf(await page.content())
  /** Logs the laptop in as alice unless it already is: each test also runs on its own. */
  const laptopAsAlice = async (): Promise<void> => {
    const page = await laptop.newPage()
    await page.goto(url)
    if (!/Logged in as alice/.test(await text(page))) await logIn(page, 'alice')
    await page.close()
  }

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-demo-browser-'))
    demo = await startDemo(
      { port: 0, host: '127.0.0.1', factoryName: 'sqlite', dataDir, secureCookies: true },
      { beforeCartChange: () => beforeCartChange() },
    )
    // The README's address: browsers accept Secure cookies on http://localhost.
    url = demo.url.replace('127.0.0.1', 'localhost')
    browser = await chromium.launch({
      executablePath: executablePath!,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      timeout: 30_000,
    })
    laptop = await newContext()
  })
  after(async () => {
    await browser?.close()
    await demo?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('logs in over http://localhost with a Secure cookie, shows the welcome flash once, and keeps a screenshot', async () => {
    const page = await laptop.newPage()
    await logIn(page, 'alice')
    const flash = page.locator('.flash-info')
    assert.equal((await flash.textContent())?.trim(), 'Welcome, alice! You are logged in.')
    const [cookie] = (await laptop.cookies()).filter((c) => c.name === 'session')
    assert.ok(cookie, 'Chromium kept the session cookie')
    assert.equal(cookie.secure, true)
    assert.equal(cookie.httpOnly, true)
    assert.equal(cookie.sameSite, 'Lax')

    mkdirSync('test-artifacts', { recursive: true })
    await page.screenshot({ path: ARTIFACT })
    // The README's copy changes only on request, so a test run leaves the tree clean.
    if (!existsSync(README_SCREENSHOT) || process.env.UPDATE_DEMO_SCREENSHOT === '1') {
      mkdirSync('docs', { recursive: true })
      copyFileSync(ARTIFACT, README_SCREENSHOT)
    }

    await page.reload()
    assert.equal(await page.locator('.flash').count(), 0, 'a flash is shown once')
    assert.match(await text(page), /Logged in as alice/)
    await page.close()
  })

  it('draws keyboard focus in the dark header with at least 3:1 contrast (WCAG 1.4.11)', async () => {
    const page = await laptop.newPage()
    await page.goto(url)
    const focused = (): Promise<{
      inHeader: boolean
      outline: string
      style: string
      background: string
    }> =>
      page.evaluate(() => {
        const element = document.activeElement!
        const style = getComputedStyle(element)
        return {
          inHeader: element.closest('header') !== null,
          outline: style.outlineColor,
          style: style.outlineStyle,
          background: getComputedStyle(document.querySelector('header')!).backgroundColor,
        }
      })
    await page.keyboard.press('Tab') // the skip link
    await page.keyboard.press('Tab') // the brand link, in the header
    const header = await focused()
    assert.equal(header.inHeader, true)
    assert.equal(header.style, 'solid')
    assert.ok(
      contrast(header.outline, header.background) >= 3,
      `${header.outline} on ${header.background}: ${contrast(header.outline, header.background).toFixed(2)}:1`,
    )

    await page.locator('main a').first().focus() // after a key press: still keyboard focus
    const main = await focused()
    assert.equal(main.inHeader, false)
    assert.equal(main.style, 'solid')
    assert.equal(main.outline, 'rgb(31, 95, 191)', 'the blue outline on the light page')
    await page.close()
  })

  it('keeps both items when two tabs add to the cart at the same moment', async () => {
    await laptopAsAlice()
    const [left, right] = [await laptop.newPage(), await laptop.newPage()]
    await left.goto(`${url}/cart`)
    await right.goto(`${url}/cart`)
    beforeCartChange = createBarrier(2) // each request waits until both have loaded the session
    try {
      await Promise.all([
        left.getByRole('button', { name: 'Add Umbrella to the cart' }).click(),
        right.getByRole('button', { name: 'Add Wool scarf to the cart' }).click(),
      ])
      await left.waitForURL(`${url}/cart`)
      await right.waitForURL(`${url}/cart`)
    } finally {
      beforeCartChange = () => Promise.resolve()
    }
    await left.reload()
    assert.equal(await left.locator('tr[data-product="umbrella"] .quantity').textContent(), '1')
    assert.equal(await left.locator('tr[data-product="scarf"] .quantity').textContent(), '1')
    await left.close()
    await right.close()
  })

  it('"log out other devices" ends the session of a second browser', async () => {
    await laptopAsAlice()
    const phone = await newContext()
    try {
      const phonePage = await phone.newPage()
      await logIn(phonePage, 'alice')
      const page = await laptop.newPage()
      await page.goto(`${url}/devices`)
      assert.equal(await page.locator('tbody tr').count(), 2)
      assert.equal(await page.locator('tr.current').count(), 1)
      await page.getByRole('button', { name: 'Log out other devices' }).click()
      await page.waitForURL(`${url}/devices`)
      assert.match(await text(page), /Logged out 1 other session\./)
      assert.equal(await page.locator('tbody tr').count(), 1)

      await phonePage.goto(`${url}/devices`)
      assert.equal(phonePage.url(), `${url}/`, 'the phone is sent to the login page')
      const phoneText = await text(phonePage)
      assert.match(phoneText, /Log in to see your devices\./)
      assert.match(phoneText, /Not logged in/)
      await page.close()
    } finally {
      await phone.close()
    }
  })

  it('logs out, and the old cookie replayed from outside the browser is refused', async () => {
    await laptopAsAlice()
    const page = await laptop.newPage()
    await page.goto(url)
    const old = (await laptop.cookies()).find((c) => c.name === 'session')!
    const replay = async (): Promise<string> => {
      const response = await fetch(`${url}/inspector`, {
        headers: { cookie: `session=${old.value}` },
      })
      return textOf(await response.text())
    }
    assert.match(await replay(), /Logged in as alice/, 'the cookie works before logout')

    await page.getByRole('button', { name: 'Log out' }).click()
    await page.waitForURL(`${url}/`)
    assert.match(await text(page), /You are logged out\./)
    const current = (await laptop.cookies()).find((c) => c.name === 'session')
    assert.notEqual(current?.value, old.value, 'the browser dropped the old cookie')

    const replayed = await replay()
    assert.match(replayed, /Not logged in/)
    assert.match(replayed, /isNew true/)
    await page.close()
  })
})
