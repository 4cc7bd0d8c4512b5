import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { createClient } from 'redis'
import { CookieJar } from './helpers/http.js'
import { POSTGRES, REDIS_URL, serviceSkip, uniqueName } from './helpers/services.js'

const APP = fileURLToPath(new URL('./fixtures/scale-out-app.ts', import.meta.url))

interface AppProcess {
  readonly url: string
  readonly pid: number
  stop(): Promise<void>
}

/** Starts one app process (`node --import tsx`) and waits until it listens. */
async function startApp(env: Record<string, string>): Promise<AppProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', APP], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening (\d+)/.exec(output)
      if (match) resolve(Number(match[1]))
    })
    child.once('exit', (code) => reject(new Error(`the app exited (${code}) before listening`)))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    },
  }
}

interface Reply {
  pid: number
  data: Record<string, string>
}

async function call(jar: CookieJar, url: string): Promise<Reply> {
  const response = await jar.fetch(url)
  assert.equal(response.status, 200, response.body)
  return JSON.parse(response.body) as Reply
}

/** The scenario, run against two processes that share one store. */
function scaleOutSuite(env: () => Record<string, string>): void {
  const apps: AppProcess[] = []
  before(async () => {
    apps.push(...(await Promise.all([startApp(env()), startApp(env())])))
  })
  after(async () => {
    await Promise.all(apps.map((app) => app.stop()))
  })

  it('keeps one session consistent while requests alternate between two processes', async () => {
    const [a, b] = apps as [AppProcess, AppProcess]
    assert.notEqual(a.pid, b.pid)
    const jar = new CookieJar()
    const expected: Record<string, string> = {}
    for (let i = 0; i < 10; i++) {
      const app = i % 2 === 0 ? a : b
      const written = await call(jar, `${app.url}/write?step${i}=${i}`)
      assert.equal(written.pid, app.pid)
      expected[`step${i}`] = String(i)
      const other = i % 2 === 0 ? b : a
      const read = await call(jar, `${other.url}/read`)
      assert.equal(read.pid, other.pid)
      assert.deepEqual(read.data, expected, `after step ${i}, the other process sees every write`)
    }
  })

  it('keeps every key when both processes write to one session at the same time', async () => {
    const [a, b] = apps as [AppProcess, AppProcess]
    const jar = new CookieJar()
    await call(jar, `${a.url}/write?start=yes`)
    const cookie = jar.header()!
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const request = new CookieJar()
        request.update([cookie])
        return call(request, `${(i % 2 === 0 ? a : b).url}/write?key${i}=${i}`)
      }),
    )
    const { data } = await call(jar, `${b.url}/read`)
    assert.equal(Object.keys(data).length, 41)
    for (let i = 0; i < 40; i++) assert.equal(data[`key${i}`], String(i))
  })

  it('ends the session on both processes when one of them logs out', async () => {
    const [a, b] = apps as [AppProcess, AppProcess]
    const jar = new CookieJar()
    await call(jar, `${a.url}/write?user=ada`)
    const stolen = new CookieJar()
    stolen.update([jar.header()!])
    await call(jar, `${b.url}/logout`)
    assert.deepEqual((await call(stolen, `${a.url}/read`)).data, {}, 'the old cookie is dead on A')
    assert.deepEqual((await call(stolen, `${b.url}/read`)).data, {}, 'and on B')
  })
}

const redisSkip = await serviceSkip('redis')
const postgresSkip = await serviceSkip('postgres')

describe('scale-out: two app processes sharing one Redis', { skip: redisSkip }, () => {
  const prefix = `${uniqueName()}:`
  after(async () => {
    const client = createClient({ url: REDIS_URL })
    await client.connect()
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.del(keys)
    }
    await client.close()
  })
  scaleOutSuite(() => ({ STORE: 'redis', PREFIX: prefix }))
})

describe('scale-out: two app processes sharing one PostgreSQL', { skip: postgresSkip }, () => {
  const schema = uniqueName()
  after(async () => {
    const client = new pg.Client({ ...POSTGRES })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  })
  scaleOutSuite(() => ({ STORE: 'postgres', SCHEMA: schema }))
})
