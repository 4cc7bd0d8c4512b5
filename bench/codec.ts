/**
 * The codec micro-benchmark: encode + decode per second of one session's data, in-process, for
 * Cloakroom's codecs and the codecs the peers use. `run.ts` starts it pinned to one core; run it
 * alone with `npx tsx bench/codec.ts [--quick] [--json]`.
 */
import Keygrip from 'keygrip'
import sodium from 'sodium-native'
import { sealData, unsealData } from 'iron-session'
import type { CookieCodec } from '../src/lib/codec/cookie-codec.js'
import { createKeyring } from '../src/lib/codec/keyring.js'
import { createSignedCodec } from '../src/lib/codec/signed-codec.js'
import { SECRET, SEED_USER } from './servers/common.js'

/** One codec's figure. */
export interface CodecResult {
  readonly name: string
  /** Who uses this codec. */
  readonly usedBy: string
  readonly opsPerSecond: number
  readonly note?: string
}

const DATA = { user: SEED_USER, n: 42 }
const BODY = JSON.stringify({ d: DATA })

/** Runs `op` for about `ms` milliseconds, `repeats` times, and returns the median ops/s. */
async function measure(op: () => unknown, ms: number, repeats: number): Promise<number> {
  const rates: number[] = []
  for (let r = 0; r < repeats; r++) {
    let count = 0
    const start = performance.now()
    let elapsed = 0
    while (elapsed < ms) {
      for (let i = 0; i < 100; i++) {
        const result = op()
        if (result instanceof Promise) await result
      }
      count += 100
      elapsed = performance.now() - start
    }
    rates.push((count * 1000) / elapsed)
  }
  rates.sort((a, b) => a - b)
  return rates[Math.floor(rates.length / 2)]!
}

function cloakroomRoundTrip(codec: CookieCodec): () => void {
  let t = Date.now()
  return () => {
    // A new lastActive each time, so a memoizing codec cannot answer from its cache.
    t += 1
    const result = codec.decode(codec.encode({ created: t, lastActive: t, body: BODY }))
    if (!result.ok) throw new Error('round trip failed')
  }
}

async function encryptedCodec(): Promise<CookieCodec | undefined> {
  try {
    const module = (await import('../src/lib/codec/encrypted-codec.js')) as Record<string, unknown>
    const create = module.createEncryptedCodec as
      ((options: Record<string, unknown>) => CookieCodec) | undefined
    if (typeof create !== 'function') return undefined
    const keyring = createKeyring(SECRET, 'encrypted-cookie/session')
    return create({ keyring, cookieName: 'session', cacheEntries: 0 })
  } catch {
    return undefined
  }
}

/** @fastify/secure-session's format: base64(secretbox(JSON)) + ';' + base64(nonce). */
function secretboxRoundTrip(): () => void {
  const key = Buffer.from(SECRET).subarray(0, sodium.crypto_secretbox_KEYBYTES)
  return () => {
    const message = Buffer.from(JSON.stringify(DATA))
    const nonce = Buffer.allocUnsafe(sodium.crypto_secretbox_NONCEBYTES)
    sodium.randombytes_buf(nonce)
    const cipher = Buffer.allocUnsafe(message.length + sodium.crypto_secretbox_MACBYTES)
    sodium.crypto_secretbox_easy(cipher, message, nonce, key)
    const value = `${cipher.toString('base64')};${nonce.toString('base64')}`
    const [cipherText, nonceText] = value.split(';') as [string, string]
    const sealed = Buffer.from(cipherText, 'base64')
    const plain = Buffer.allocUnsafe(sealed.length - sodium.crypto_secretbox_MACBYTES)
    if (!sodium.crypto_secretbox_open_easy(plain, sealed, Buffer.from(nonceText, 'base64'), key)) {
      throw new Error('round trip failed')
    }
    JSON.parse(plain.toString())
  }
}

/** cookie-session's and koa-session's format: base64 JSON, signed by keygrip (HMAC-SHA1). */
function keygripRoundTrip(): () => void {
  const keys = new Keygrip([SECRET])
  return () => {
    const value = Buffer.from(JSON.stringify(DATA)).toString('base64')
    const signature = keys.sign(`session=${value}`)
    if (keys.index(`session=${value}`, signature) !== 0) throw new Error('round trip failed')
    JSON.parse(Buffer.from(value, 'base64').toString())
  }
}

/**
 * @param quick shorter measurements
 * @returns one figure per codec
 */
export async function runCodecBench(quick: boolean): Promise<CodecResult[]> {
  const ms = quick ? 200 : 1000
  const repeats = quick ? 1 : 3
  const keyring = createKeyring(SECRET, 'signed-cookie/session')
  const results: CodecResult[] = []
  const add = async (
    name: string,
    usedBy: string,
    op: () => unknown,
    note?: string,
  ): Promise<void> => {
    const opsPerSecond = await measure(op, ms, repeats)
    results.push({ name, usedBy, opsPerSecond, ...(note === undefined ? {} : { note }) })
  }

  await add(
    'HMAC-SHA256 signed',
    'Cloakroom signed',
    cloakroomRoundTrip(createSignedCodec({ keyring, cacheEntries: 0 })),
  )
  const memoized = createSignedCodec({ keyring })
  const known = memoized.encode({ created: Date.now(), lastActive: Date.now(), body: BODY })
  await add(
    'HMAC-SHA256 signed, decode of a known value',
    'Cloakroom signed',
    () => memoized.decode(known),
    'decode only, answered by the bounded verified-value cache',
  )
  const encrypted = await encryptedCodec()
  if (encrypted === undefined) {
    results.push({
      name: 'AES-256-GCM encrypted',
      usedBy: 'Cloakroom encrypted',
      opsPerSecond: 0,
      note: 'not available',
    })
  } else {
    await add('AES-256-GCM encrypted', 'Cloakroom encrypted', cloakroomRoundTrip(encrypted))
  }
  const password = SECRET
  await add('iron seal/unseal (iron-webcrypto)', 'iron-session, hono-sessions', async () => {
    const sealed = await sealData(DATA, { password })
    await unsealData(sealed, { password })
  })
  await add('libsodium secretbox (sodium-native)', '@fastify/secure-session', secretboxRoundTrip())
  await add('keygrip HMAC-SHA1 + base64 JSON', 'cookie-session, koa-session', keygripRoundTrip())
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await runCodecBench(process.argv.includes('--quick'))
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(results)}\n`)
  else
    for (const r of results)
      console.log(
        `${r.name.padEnd(48)} ${Math.round(r.opsPerSecond).toString().padStart(9)} ops/s  (${r.usedBy})`,
      )
}
