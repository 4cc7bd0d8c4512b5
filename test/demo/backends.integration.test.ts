import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { createClient } from 'redis'
import type { DemoConfig } from '../../examples/demo/config.js'
import { startDemo } from '../../examples/demo/start.js'
import { POSTGRES, REDIS_URL, serviceSkip, uniqueName } from '../helpers/services.js'
import { DemoClient, textOf } from './client.js'

const redisSkip = await serviceSkip('redis')
const postgresSkip = await serviceSkip('postgres')
const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-demo-backends-'))
after(() => rmSync(dataDir, { recursive: true, force: true }))

/** Logs in from two clients, ends the other one from the first, and checks both sides. */
async function devicesRoundTrip(config: DemoConfig): Promise<void> {
  const demo = await startDemo(config)
  try {
    const [laptop, phone] = [new DemoClient(demo.url), new DemoClient(demo.url)]
    for (const client of [laptop, phone]) {
      const response = await client.submit('/', '/login', {
        username: 'hana',
        password: 'cloakroom',
      })
      assert.equal(response.status, 303)
    }
    await laptop.submit('/cart', '/cart/add', { product: 'scarf' })
    assert.match(textOf((await laptop.get('/devices')).body), / 2 sessions /)
    await laptop.submit('/devices', '/devices/logout-others')
    assert.match(textOf((await laptop.get('/devices')).body), /Logged out 1 other session\./)
    assert.equal((await phone.get('/devices')).status, 303, 'the phone was logged out')
    assert.match((await laptop.get('/cart')).body, /data-product="scarf"/)
  } finally {
    await demo.close()
  }
}

const base = { port: 0, host: '127.0.0.1', dataDir, secureCookies: true } as const

describe('the demo on SESSION_FACTORY=redis', { skip: redisSkip }, () => {
  const prefix = `${uniqueName()}:`
  after(async () => {
    const client = await createClient({ url: REDIS_URL }).connect()
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) {
      if (keys.length > 0) await client.del(keys)
    }
    await client.close()
  })

  it('logs in, lists devices and logs out the other one', async () => {
    await devicesRoundTrip({
      ...base,
      factoryName: 'redis',
      redisUrl: REDIS_URL,
      redisPrefix: prefix,
    })
  })
})

describe('the demo on SESSION_FACTORY=postgres', { skip: postgresSkip }, () => {
  const table = uniqueName()
  const url = `postgres://${POSTGRES.user}@${POSTGRES.host}:${POSTGRES.port}/${POSTGRES.database}`
  after(async () => {
    const pool = new pg.Pool({ connectionString: url })
    await pool.query(`DROP TABLE IF EXISTS public.${table}`)
    await pool.end()
  })

  it('logs in, lists devices and logs out the other one', async () => {
    await devicesRoundTrip({
      ...base,
      factoryName: 'postgres',
      databaseUrl: url,
      postgresTable: table,
    })
  })
})
