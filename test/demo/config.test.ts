import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DemoConfigError, readDemoConfig } from '../../examples/demo/config.js'

describe('readDemoConfig (the demo environment)', () => {
  let cwd: string
  before(() => {
    cwd = mkdtempSync(join(tmpdir(), 'cloakroom-demo-config-'))
  })
  after(() => rmSync(cwd, { recursive: true, force: true }))

  it('defaults to SQLite under ./.data on port 3000 with Secure cookies, and needs no secret', () => {
    const lines: string[] = []
    const config = readDemoConfig({}, { cwd, log: (line) => lines.push(line) })
    assert.equal(config.factoryName, 'sqlite')
    assert.equal(config.port, 3000)
    assert.equal(config.host, 'localhost')
    assert.equal(config.dataDir, join(cwd, '.data'))
    assert.equal(config.secureCookies, true)
    assert.equal(config.secret, undefined, 'a server-side session id needs no secret')
    assert.deepEqual(lines, [])
  })

  it('generates a development secret once, private to the user, and prints a notice', () => {
    const lines: string[] = []
    const log = (line: string): void => void lines.push(line)
    const first = readDemoConfig({ SESSION_FACTORY: 'signed' }, { cwd, log })
    const file = join(cwd, '.data', 'secret')
    assert.equal(first.secret, readFileSync(file, 'utf8').trim())
    assert.equal(Buffer.from(first.secret ?? '', 'base64url').length, 32)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(statSync(join(cwd, '.data')).mode & 0o777, 0o700)
    assert.equal(lines.length, 1)
    assert.match(lines[0]!, /SESSION_SECRET is not set: generated a development secret in .*secret/)

    const again = readDemoConfig({ SESSION_FACTORY: 'encrypted' }, { cwd, log })
    assert.equal(again.secret, first.secret, 'kept across restarts')
    assert.equal(lines.length, 2)
  })

  it('takes SESSION_SECRET from the environment, and refuses to run without it in production', () => {
    const secret = 's'.repeat(43)
    assert.equal(
      readDemoConfig({ SESSION_FACTORY: 'signed', SESSION_SECRET: secret }, { cwd }).secret,
      secret,
    )
    assert.throws(
      () => readDemoConfig({ SESSION_FACTORY: 'signed', NODE_ENV: 'production' }, { cwd }),
      (error: unknown) =>
        error instanceof DemoConfigError &&
        /SESSION_SECRET is not set/.test(error.message) &&
        // This repository's checkout has no built bin: the hint runs the CLI from source.
        error.message.includes('npm run cloakroom -- keygen'),
    )
  })

  it('refuses unknown factories, bad ports and missing service URLs with a clear message', () => {
    const refuses = (env: Record<string, string>, pattern: RegExp): void =>
      assert.throws(
        () => readDemoConfig(env, { cwd }),
        (error: unknown) => error instanceof DemoConfigError && pattern.test(error.message),
        JSON.stringify(env),
      )
    refuses({ SESSION_FACTORY: 'mongo' }, /not one of sqlite, signed, encrypted, redis, postgres/)
    refuses({ PORT: 'http' }, /is not a port number/)
    refuses({ SESSION_FACTORY: 'redis' }, /needs REDIS_URL/)
    refuses({ SESSION_FACTORY: 'postgres' }, /needs DATABASE_URL/)
    refuses({ COOKIE_SECURE: 'maybe' }, /is not true or false/)
    const badUrls: [Record<string, string>, RegExp][] = [
      [
        { SESSION_FACTORY: 'postgres', DATABASE_URL: 'postgres://u:hunter2@127.0.0.1:99999/x' },
        /^DATABASE_URL is not a valid URL \(its value is not shown/,
      ],
      [
        { SESSION_FACTORY: 'redis', REDIS_URL: 'redis://:hunter2@bad host:6379' },
        /^REDIS_URL is not a valid URL/,
      ],
      [{ SESSION_FACTORY: 'redis', REDIS_URL: 'localhost:6379' }, /^REDIS_URL must start with/],
      [
        { SESSION_FACTORY: 'postgres', DATABASE_URL: 'mysql://u:hunter2@db/x' },
        /^DATABASE_URL must start with postgres:\/\/ or postgresql:\/\/\.$/,
      ],
    ]
    for (const [env, pattern] of badUrls) {
      refuses(env, pattern)
      assert.throws(
        () => readDemoConfig(env, { cwd }),
        (error: Error) => !/hunter2/.test(error.message),
      )
    }
    assert.equal(readDemoConfig({ COOKIE_SECURE: 'false' }, { cwd }).secureCookies, false)
  })
})
