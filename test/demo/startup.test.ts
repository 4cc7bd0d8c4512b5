/**
 * `npm start` with a store that does not answer: the demo must say so in one line and exit,
 * not listen and answer every request with 503. Spawns examples/demo/server.ts itself.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { after, describe, it } from 'node:test'
import { DemoConfigError } from '../../examples/demo/config.js'
import { startDemo } from '../../examples/demo/start.js'
import { freePort, RedisProcess, redisBinariesSkip } from '../helpers/redis-server.js'
import { DemoClient } from './client.js'

const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-demo-startup-'))
after(() => rmSync(dataDir, { recursive: true, force: true }))

/** What a finished process printed. */
interface Exit {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `npm start`'s script with `env` added; kills it (and fails) after `timeoutMs`. */
function runDemo(env: Record<string, string>, timeoutMs = 20_000): Promise<Exit> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo/server.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`still running after ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`))
    }, timeoutMs)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Checks the one-line refusal, without a stack trace or a "listening" line. */
function assertOneLineRefusal(exit: Exit, pattern: RegExp): void {
  assert.notEqual(exit.code, 0, 'exits non-zero')
  const lines = exit.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line on stderr, got:\n${exit.stderr}`)
  assert.match(lines[0]!, pattern)
  assert.doesNotMatch(exit.stdout, /Cloakroom demo .* on http/, 'it never said it was listening')
}

describe('starting the demo with a store that does not answer', () => {
  it('SESSION_FACTORY=redis on a closed port: one line naming REDIS_URL (password hidden), exit 1', async () => {
    const port = await freePort()
    const exit = await runDemo({
      SESSION_FACTORY: 'redis',
      REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`,
    })
    assertOneLineRefusal(
      exit,
      new RegExp(
        `^Cannot start the demo: cannot reach REDIS_URL \\(redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}\\): connect ECONNREFUSED`,
      ),
    )
    assert.doesNotMatch(exit.stderr, /hunter2/)
    assert.equal(exit.code, 1)
  })

  it('SESSION_FACTORY=postgres on a closed port: one line naming DATABASE_URL, exit 1', async () => {
    const port = await freePort()
    const url = `postgres://root@127.0.0.1:${port}/test`
    const exit = await runDemo({ SESSION_FACTORY: 'postgres', DATABASE_URL: url })
    assertOneLineRefusal(
      exit,
      new RegExp(
        `^Cannot start the demo: cannot reach DATABASE_URL \\(postgres://root@127\\.0\\.0\\.1:${port}/test\\): connect ECONNREFUSED`,
      ),
    )
    assert.equal(exit.code, 1)
  })

  it('a DATA_DIR that is a file: one line, exit 1', async () => {
    const file = join(dataDir, 'not-a-directory')
    writeFileSync(file, '')
    const exit = await runDemo({ DATA_DIR: file })
    assertOneLineRefusal(exit, /^Cannot start the demo: E\w+: .*not-a-directory/)
    assert.equal(exit.code, 1)
  })

  it('makes its SQLite data directory private, even one that already existed', async () => {
    const shared = join(dataDir, 'shared')
    mkdirSync(shared, { mode: 0o755 })
    chmodSync(shared, 0o755)
    const demo = await startDemo({
      port: 0,
      host: '127.0.0.1',
      dataDir: shared,
      secureCookies: true,
      factoryName: 'sqlite',
    })
    await demo.close()
    assert.equal(statSync(shared).mode & 0o777, 0o700)
  })

  it('startDemo rejects with a DemoConfigError and leaves nothing running', async () => {
    const port = await freePort()
    const config = {
      port: 0,
      host: '127.0.0.1',
      dataDir,
      secureCookies: true,
      factoryName: 'redis',
      redisUrl: `redis://127.0.0.1:${port}`,
    } as const
    const handles = (): string[] =>
      process.getActiveResourcesInfo().filter((kind) => kind !== 'PipeWrap' && kind !== 'TTYWrap')
    await delay(100) // freePort's server closes
    const before = handles()
    await assert.rejects(
      startDemo(config),
      (error: unknown) =>
        error instanceof DemoConfigError && /^cannot reach REDIS_URL/.test(error.message),
    )
    await delay(300) // the refused socket closes
    // A client still reconnecting would hold a socket or a retry timer.
    assert.deepEqual(handles().sort(), before.sort())
  })
})

describe(
  'the demo on a Redis that goes away after start-up',
  { skip: redisBinariesSkip(), timeout: 60_000 },
  () => {
    it('answers 503 while Redis is down, then reconnects by itself', async () => {
      const redis = new RedisProcess(await freePort())
      await redis.start()
      const errors: unknown[] = []
      const originalError = console.error
      console.error = (...args: unknown[]) => void errors.push(args)
      const demo = await startDemo({
        port: 0,
        host: '127.0.0.1',
        dataDir,
        secureCookies: true,
        factoryName: 'redis',
        redisUrl: `redis://127.0.0.1:${redis.port}`,
      })
      try {
        const client = new DemoClient(demo.url)
        const login = { username: 'ines', password: 'cloakroom' }
        assert.equal((await client.submit('/', '/login', login)).status, 303)
        assert.equal((await client.get('/inspector')).status, 200)
        await redis.stop()
        assert.equal((await client.get('/inspector')).status, 503)
        assert.ok(errors.length > 0, 'the lost connection is logged')
        await redis.start()
        let status = 0
        for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
          await delay(200)
          status = (await client.get('/inspector')).status
        }
        assert.equal(status, 200, 'the client reconnected')
      } finally {
        await demo.close()
        await redis.stop()
        console.error = originalError
      }
    })
  },
)
