import assert from 'node:assert/strict'
import { execFile, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { createClient } from 'redis'
import {
  createEncryptedCookieFactory,
  createSignedCookieFactory,
  type Session,
  type SessionFactory,
  type SessionStore,
} from 'cloakroom'
import { createFileStore } from 'cloakroom/file'
import { createPostgresStore } from 'cloakroom/postgres'
import { createPyramidCookieFactory } from 'cloakroom/pyramid'
import { createRedisStore } from 'cloakroom/redis'
import { createSqliteStore } from 'cloakroom/sqlite'
import Database from 'better-sqlite3'
import { createKeyring } from '../src/lib/codec/keyring.js'
import { createSignedCodec } from '../src/lib/codec/signed-codec.js'
import { generateSecret } from '../src/lib/cli/keygen.js'
import { pruneCommand } from '../src/lib/cli/prune.js'
import { statsReport } from '../src/lib/cli/stats.js'
import { POSTGRES, REDIS_URL, serviceSkip, uniqueName } from './helpers/services.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SECRET = 'cli-test-secret-0123456789abcdefghijk'
const NOW = Date.UTC(2030, 0, 2, 3, 4, 5)

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `cloakroom <args>` from the sources, as `npx cloakroom` would run the build. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      { cwd: ROOT, env: { ...process.env, CLOAKROOM_SECRET: '', ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** A cookie made by `factory` for a session holding `user`. */
function mint(factory: SessionFactory, values: Record<string, unknown>): string[] {
  const session = factory.load(undefined) as Session
  for (const [key, value] of Object.entries(values)) session.set(key, value)
  return (factory.commit(session) as readonly string[]).map((header) =>
    header.slice(0, header.indexOf(';')),
  )
}

const oneLine = (run: Run, code = 2): void => {
  assert.equal(run.code, code, run.stderr)
  assert.equal(run.stdout, '')
  assert.equal(run.stderr.trimEnd().split('\n').length, 1, run.stderr)
}

describe('cloakroom (CLI)', () => {
  it('keygen prints a new 256-bit base64url secret each time; --bytes asks for more', async () => {
    const [first, second, longer, tooShort] = await Promise.all([
      cli(['keygen']),
      cli(['keygen']),
      cli(['keygen', '--bytes', '64']),
      cli(['keygen', '--bytes', '8']),
    ])
    assert.equal(first.code, 0)
    assert.match(first.stdout, /^[A-Za-z0-9_-]{43}\n$/)
    assert.notEqual(first.stdout, second.stdout)
    assert.match(longer.stdout, /^[A-Za-z0-9_-]{86}\n$/)
    oneLine(tooShort)
    assert.match(tooShort.stderr, /--bytes/)
    // What keygen prints is accepted as a secret.
    assert.doesNotThrow(() => createSignedCookieFactory({ secrets: first.stdout.trim() }))
    const [asJson, shortHelp] = await Promise.all([
      cli(['keygen', '--json']),
      cli(['keygen', '-h']),
    ])
    assert.match((JSON.parse(asJson.stdout) as { secret: string }).secret, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(shortHelp.code, 0)
    assert.match(shortHelp.stdout, /Usage: cloakroom keygen/)
  })

  it('runs from a checkout of this repository as `npm run cloakroom -- <command>`', () => {
    const run = spawnSync('npm', ['run', '--silent', 'cloakroom', '--', 'keygen', '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
    assert.equal(run.status, 0, run.stderr)
    assert.match((JSON.parse(run.stdout) as { secret: string }).secret, /^[A-Za-z0-9_-]{43}$/)
  })

  it('never makes a secret that a command line would take for an option', () => {
    // One base64url draw in 64 starts with "-": 2000 draws would all but surely show one.
    for (let i = 0; i < 2000; i++) assert.ok(!generateSecret().startsWith('-'))
  })

  it('says how to pass a value that starts with "-"', async () => {
    const [option, positional] = await Promise.all([
      cli(['inspect', 'value', '--secret', '-abc']),
      cli(['inspect', '-Xvalue']),
    ])
    oneLine(option)
    assert.match(option.stderr, /write --secret=VALUE/)
    oneLine(positional)
    assert.match(positional.stderr, /put it after --/)
  })

  it('prints usage: on stdout for --help, on stderr with exit code 2 without a command', async () => {
    const [help, none, unknown, commandHelp] = await Promise.all([
      cli(['--help']),
      cli([]),
      cli(['frobnicate']),
      cli(['inspect', '--help']),
    ])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Usage: cloakroom <command>[\s\S]*keygen[\s\S]*inspect/)
    assert.equal(none.code, 2)
    assert.match(none.stderr, /Usage: cloakroom/)
    oneLine(unknown)
    assert.match(unknown.stderr, /unknown command "frobnicate"/)
    assert.equal(commandHelp.code, 0)
    assert.match(commandHelp.stdout, /--secret[\s\S]*--cookie-name[\s\S]*--json/)
  })

  it('prints the package version for --version', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string }
    const printed = await cli(['--version'])
    assert.equal(printed.code, 0)
    assert.equal(printed.stdout, `${version}\n`)
  })

  it('inspect decodes signed and encrypted cookies (value or Cookie header), never printing the secret', async () => {
    const options = {
      secrets: [{ id: 'k2030', secret: SECRET }],
      cookieName: 'sid',
      now: () => NOW,
    }
    const [encrypted] = mint(createEncryptedCookieFactory(options), {
      user: 'ann',
      when: new Date(0),
    })
    const [signed] = mint(createSignedCookieFactory(options), { user: 'bob' })
    const split = mint(createEncryptedCookieFactory({ ...options, overflow: 'split' }), {
      blob: 'x'.repeat(5000),
    })
    assert.equal(split.length, 2)
    const [fromEncrypted, fromSigned, fromHeader, fromEnv] = await Promise.all([
      cli([
        'inspect',
        encrypted!.slice('sid='.length),
        '--secret',
        SECRET,
        '--cookie-name',
        'sid',
        '--json',
      ]),
      cli([
        'inspect',
        `other=1; ${signed!}`,
        '--secret',
        'w'.repeat(32),
        '--secret',
        SECRET,
        '--cookie-name',
        'sid',
        '--json',
      ]),
      cli(['inspect', split.join('; '), '--secret', SECRET, '--cookie-name', 'sid', '--json']),
      cli(['inspect', encrypted!.slice('sid='.length), '--cookie-name', 'sid'], {
        CLOAKROOM_SECRET: SECRET,
      }),
    ])
    for (const run of [fromEncrypted, fromSigned, fromHeader, fromEnv]) {
      assert.equal(run.code, 0, run.stderr)
      assert.ok(
        !run.stdout.includes(SECRET) && !run.stderr.includes(SECRET),
        'the secret is never printed',
      )
    }
    assert.deepEqual(JSON.parse(fromEncrypted.stdout), {
      kind: 'encrypted',
      keyId: 'k2030',
      created: new Date(NOW).toISOString(),
      lastActive: new Date(NOW).toISOString(),
      data: { user: 'ann', when: { $date: 0 } },
      system: {},
    })
    assert.equal(JSON.parse(fromSigned.stdout).kind, 'signed')
    assert.deepEqual(JSON.parse(fromSigned.stdout).data, { user: 'bob' })
    assert.equal(JSON.parse(fromHeader.stdout).data.blob.length, 5000)
    assert.match(fromEnv.stdout, /kind: +encrypted[\s\S]*key id: +k2030[\s\S]*"user": "ann"/)
  })

  it('inspect shows a signed time no date can hold as the number, instead of failing', async () => {
    const [cookie] = mint(
      createSignedCookieFactory({ secrets: SECRET, now: () => 9e15 }), // past year 275760
      { user: 'ann' },
    )
    const run = await cli(['inspect', cookie!, '--secret', SECRET, '--json'])
    assert.equal(run.code, 0, run.stderr)
    const shown = JSON.parse(run.stdout) as { created: string; data: unknown }
    assert.equal(shown.created, '9000000000000000 (not a valid time)')
    assert.deepEqual(shown.data, { user: 'ann' })
  })

  it('exits quietly when the reader of its output goes away first', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'keygen'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const [code] = (await once(child, 'close')) as [number]
    assert.deepEqual({ code, stderr }, { code: 0, stderr: '' })
  })

  it('inspect refuses, with exit code 2, a cookie that authenticates but holds no session', async () => {
    const codec = createSignedCodec({
      keyring: createKeyring(SECRET, 'signed-cookie/session'),
      cacheEntries: 0,
    })
    const bodies = ['null', '[1,2]', '"text"', '{"d":null}', '{"s":{}}', '{"d":{},"s":[]}']
    const runs = await Promise.all(
      bodies.map((body) =>
        cli([
          'inspect',
          codec.encode({ created: NOW, lastActive: NOW, body }),
          '--secret',
          SECRET,
          '--json',
        ]),
      ),
    )
    for (const run of runs) {
      oneLine(run)
      assert.match(run.stderr, /authenticates but its body is not a session/)
    }
  })

  it('inspect fails with exit code 2 and one line, never echoing the secret', async () => {
    const [value] = mint(createEncryptedCookieFactory({ secrets: SECRET }), { user: 'ann' })
    const cookie = value!.slice('session='.length)
    const wrong = 'wrong-secret-0123456789abcdefghijklmn'
    const runs = await Promise.all([
      cli(['inspect', cookie, '--secret', wrong]),
      cli(['inspect', cookie, '--secret', SECRET, '--cookie-name', 'other']),
      cli(['inspect', cookie, '--secret', 'short-secret']),
      cli(['inspect', 'not-a-cookie', '--secret', SECRET]),
      cli(['inspect', cookie]),
      cli(['inspect', cookie, '--secrt', SECRET]),
    ])
    for (const run of runs) {
      oneLine(run)
      for (const secret of [SECRET, wrong, 'short-secret'])
        assert.ok(!run.stderr.includes(secret), run.stderr)
    }
    assert.match(runs[0].stderr, /does not authenticate/)
    assert.match(runs[1].stderr, /cookie name "other"/)
    assert.match(runs[2].stderr, /at least 32 .*npx cloakroom keygen/)
    assert.match(runs[3].stderr, /not a Cloakroom/)
    assert.match(runs[4].stderr, /CLOAKROOM_SECRET/)
    assert.match(runs[5].stderr, /Unknown option '--secrt'/)
  })
})

const postgresSkip = await serviceSkip('postgres')
const redisSkip = await serviceSkip('redis')
const POSTGRES_URL = `postgres://${POSTGRES.user}@${POSTGRES.host}:${POSTGRES.port}/${POSTGRES.database}`
const HOUR = 3_600_000
const hasScript = spawnSync('script', ['--version']).status === 0

const temp = mkdtempSync(join(tmpdir(), 'cloakroom-cli-'))
after(() => rmSync(temp, { recursive: true, force: true }))
let tempCount = 0
const tempPath = (name: string): string => join(temp, `${name}-${tempCount++}`)

/** Runs the CLI in a pseudo-terminal (script(1)), so standard error is a TTY. */
function cliOnTerminal(args: string[]): Promise<Run> {
  const quote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`
  const command = [process.execPath, '--import', 'tsx', 'src/cli.ts', ...args].map(quote).join(' ')
  return new Promise((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], { cwd: ROOT }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

interface Seeded {
  /** When the oldest live session began (ISO 8601). */
  readonly oldest: string
  /** The bytes of data and library fields (JSON) of the largest live session. */
  readonly largest: number
}

/**
 * Stores `live` live sessions (session i began i + 1 hours ago and holds i + 1 "x"s) and
 * `expired` sessions that expired an hour ago, relative to the real clock the CLI uses.
 */
async function seed(store: SessionStore, live: number, expired: number): Promise<Seeded> {
  const now = Date.now()
  for (let i = 0; i < live; i++) {
    await store.set(`live-${i}`, {
      data: { n: 'x'.repeat(i + 1) },
      system: {},
      created: now - (i + 1) * HOUR,
      lastActive: now,
      expires: now + HOUR,
    })
  }
  for (let i = 0; i < expired; i++) {
    await store.set(`dead-${i}`, {
      data: { n: 'y'.repeat(1000) },
      system: {},
      created: now - 100 * HOUR,
      lastActive: now - 2 * HOUR,
      expires: now - HOUR,
    })
  }
  return {
    oldest: new Date(now - live * HOUR).toISOString(),
    largest: JSON.stringify({ n: 'x'.repeat(live) }).length + '{}'.length,
  }
}

const json = (run: Run): unknown => {
  assert.equal(run.code, 0, run.stderr)
  return JSON.parse(run.stdout)
}

describe('cloakroom prune / stats (CLI)', () => {
  it('SQLite: stats counts, prune deletes only expired rows (custom table), both with --json', async () => {
    const path = tempPath('sessions.db')
    const store = createSqliteStore({ database: path, table: 'my_sessions' })
    const seeded = await seed(store, 3, 5)
    await store.close()
    const url = `sqlite:${path}`
    const before = await cli(['stats', '--store', url, '--table', 'my_sessions', '--json'])
    assert.deepEqual(json(before), {
      store: url,
      live: 3,
      expired: 5,
      oldestCreated: seeded.oldest,
      largestBytes: seeded.largest,
    })
    const pruned = await cli(['prune', '--store', url, '--table', 'my_sessions', '--json'])
    assert.deepEqual(json(pruned), { store: url, deleted: 5 })
    assert.equal(pruned.stderr, '', 'no progress line when standard error is not a terminal')
    const [again, afterText, missingTable] = await Promise.all([
      cli(['prune', '--store', url, '--table', 'my_sessions']),
      cli(['stats', '--store', url, '--table', 'my_sessions']),
      cli(['stats', '--store', url]),
    ])
    assert.equal(again.stdout, `Deleted 0 expired sessions from ${url}.\n`)
    assert.match(afterText.stdout, /live: +3 sessions\nexpired: +0 records\n/)
    assert.match(afterText.stdout, new RegExp(`oldest: +created ${seeded.oldest}`))
    assert.match(afterText.stdout, new RegExp(`largest: +${seeded.largest} bytes`))
    oneLine(missingTable, 1)
    assert.match(missingTable.stderr, /no table "cloakroom_sessions" \(set --table\)/)
  })

  it('SQLite: stats reads a table without adding its indexes, and takes its name in any case', async () => {
    const path = tempPath('bare.db')
    const db = new Database(path)
    db.exec(`CREATE TABLE my_sessions (id_hash TEXT PRIMARY KEY, data TEXT, system TEXT,
      created INTEGER, last_active INTEGER, expires INTEGER, owner TEXT)`)
    const objects = () => db.prepare('SELECT name FROM sqlite_master ORDER BY name').all()
    const before = objects()
    const stats = await cli(['stats', '--store', `sqlite:${path}`, '--table', 'MY_SESSIONS'])
    assert.equal(stats.code, 0, stats.stderr)
    assert.match(stats.stdout, /live: +0 sessions/)
    assert.deepEqual(objects(), before, 'nothing created')
    db.close()
  })

  it('file store: stats counts, prune deletes only expired files', async () => {
    const dir = tempPath('files')
    const seeded = await seed(createFileStore({ dir }), 2, 3)
    const url = `file:${dir}`
    assert.deepEqual(json(await cli(['stats', '--store', url, '--json'])), {
      store: url,
      live: 2,
      expired: 3,
      oldestCreated: seeded.oldest,
      largestBytes: seeded.largest,
    })
    assert.deepEqual(json(await cli(['prune', '--store', url, '--batch-size', '2', '--json'])), {
      store: url,
      deleted: 3,
    })
    const after = json(await cli(['stats', '--store', url, '--json'])) as Record<string, unknown>
    assert.equal(after.live, 2)
    assert.equal(after.expired, 0)
  })

  it('stats shows a stored creation time no date can hold as the number, instead of failing', () => {
    const report = statsReport('file:x', {
      live: 1,
      expired: 0,
      oldestCreated: -1e300,
      largestBytes: 2,
    })
    assert.equal(report.oldestCreated, '-1e+300 (not a valid time)')
  })

  it('an empty store: stats prints null for the oldest and the largest', async () => {
    const dir = tempPath('empty')
    createFileStore({ dir })
    const [asJson, asText] = await Promise.all([
      cli(['stats', '--store', `file:${dir}`, '--json']),
      cli(['stats', '--store', `file:${dir}`]),
    ])
    assert.deepEqual(json(asJson), {
      store: `file:${dir}`,
      live: 0,
      expired: 0,
      oldestCreated: null,
      largestBytes: null,
    })
    assert.match(asText.stdout, /oldest: +-\nlargest: +-\n/)
  })

  it(
    'PostgreSQL: stats and batched prune on a table of its own',
    { skip: postgresSkip },
    async () => {
      const table = uniqueName()
      const pool = new pg.Pool({ ...POSTGRES, max: 2 })
      try {
        const seeded = await seed(createPostgresStore({ pool, table }), 2, 5)
        const args = ['--store', POSTGRES_URL, '--table', table, '--json']
        assert.deepEqual(json(await cli(['stats', ...args])), {
          store: POSTGRES_URL,
          live: 2,
          expired: 5,
          oldestCreated: seeded.oldest,
          // jsonb's text form adds a space after ":".
          largestBytes: seeded.largest + 1,
        })
        assert.deepEqual(json(await cli(['prune', ...args, '--batch-size', '2'])), {
          store: POSTGRES_URL,
          deleted: 5,
        })
        const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`)
        assert.equal(Number(rows[0]!.n), 2)
        const missing = await cli(['stats', '--store', POSTGRES_URL, '--table', `${table}_none`])
        oneLine(missing, 1)
        assert.match(missing.stderr, /no table public\.\S+_none .*set --schema and --table/)
      } finally {
        await pool.query(`DROP TABLE IF EXISTS "${table}"`)
        await pool.end()
      }
    },
  )

  it(
    'Redis: stats walks the prefix; prune explains native expiry and prints 0',
    { skip: redisSkip },
    async () => {
      const prefix = `${uniqueName()}:`
      const client = createClient({ url: REDIS_URL })
      await client.connect()
      try {
        const seeded = await seed(createRedisStore({ client, prefix }), 2, 0)
        assert.deepEqual(
          json(await cli(['stats', '--store', REDIS_URL, '--prefix', prefix, '--json'])),
          {
            store: `${REDIS_URL}`,
            live: 2,
            expired: 0,
            oldestCreated: seeded.oldest,
            largestBytes: seeded.largest,
          },
        )
        const pruned = await cli(['prune', '--store', REDIS_URL, '--json'])
        assert.deepEqual(json(pruned), { store: REDIS_URL, deleted: 0 })
        assert.match(pruned.stderr, /^cloakroom prune: Redis expires sessions itself.*\n$/)
      } finally {
        await client.del([`${prefix}{live-0}`, `${prefix}{live-1}`])
        await client.close()
      }
    },
  )

  it(
    'draws a progress line on standard error only when it is a terminal',
    {
      skip:
        hasScript || process.env.CI === 'true'
          ? false
          : 'script(1) is not installed (the progress line is unit-tested in progress.test.ts)',
    },
    async () => {
      assert.ok(hasScript, 'script(1) is needed with CI=true (Debian package bsdutils)')
      const path = tempPath('progress.db')
      const store = createSqliteStore({ database: path })
      await seed(store, 1, 3)
      await store.close()
      const run = await cliOnTerminal(['prune', '--store', `sqlite:${path}`, '--batch-size', '1'])
      assert.equal(run.code, 0, run.stdout)
      // script(1) merges both streams of the terminal into its standard output.
      for (const count of ['1 expired session', '2 expired sessions', '3 expired sessions']) {
        assert.ok(run.stdout.includes(`\rpruning: ${count} deleted so far...\x1b[K`), run.stdout)
      }
      assert.ok(
        run.stdout.includes(`\r\x1b[KDeleted 3 expired sessions from sqlite:${path}.`),
        'the line is erased before the result',
      )
    },
  )

  it('on Ctrl-C, erases the progress line and says how many sessions were deleted', async () => {
    const path = tempPath('interrupt.db')
    const store = createSqliteStore({ database: path })
    await seed(store, 1, 3)
    await store.close()
    const stderr: string[] = []
    let interrupt: (() => void) | undefined
    let removed = false
    const code = await pruneCommand.run(['--store', `sqlite:${path}`, '--batch-size', '1'], {
      stdout: () => undefined,
      // The user presses Ctrl-C once the second batch is reported.
      stderr: (text) => {
        stderr.push(text)
        if (text.includes('pruning: 2 ')) interrupt?.()
      },
      env: {},
      isStderrTTY: true,
      onInterrupt: (handler) => {
        interrupt = handler
        return () => {
          removed = true
        }
      },
    })
    assert.equal(code, 0, 'without a real signal the command runs on (src/cli.ts exits)')
    assert.equal(removed, true, 'the handler is removed once the work is over')
    const at = stderr.findIndex((text) => text.startsWith('cloakroom prune: interrupted'))
    assert.equal(stderr[at - 1], '\r\x1b[K', 'the progress line is erased first')
    assert.equal(
      stderr[at],
      `cloakroom prune: interrupted: at least 2 expired sessions deleted from sqlite:${path}; run it again to finish.\n`,
    )
  })

  it(
    'exits 130 with one line when interrupted while a batch waits on the database',
    { skip: postgresSkip, timeout: 30_000 },
    async () => {
      const table = uniqueName()
      const pool = new pg.Pool({ ...POSTGRES, max: 2 })
      const locker = await pool.connect()
      try {
        await seed(createPostgresStore({ pool, table }), 0, 2)
        // The table is locked, so the first DELETE waits until the user gives up.
        await locker.query(`BEGIN; LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`)
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', 'src/cli.ts', 'prune', '--store', POSTGRES_URL, '--table', table],
          { cwd: ROOT, env: { ...process.env, CLOAKROOM_SECRET: '' } },
        )
        let stderr = ''
        child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
        const exited = once(child, 'exit')
        for (;;) {
          assert.equal(child.exitCode, null, `the CLI ended before its DELETE: ${stderr}`)
          const { rows } = await pool.query(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE%'",
          )
          if (rows.length > 0) break
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        child.kill('SIGINT')
        const [code] = await exited
        assert.equal(code, 130)
        assert.equal(
          stderr,
          `cloakroom prune: interrupted: at least 0 expired sessions deleted from ${POSTGRES_URL}; run it again to finish.\n`,
        )
      } finally {
        await locker.query('ROLLBACK').catch(() => undefined)
        locker.release()
        await pool.query(`DROP TABLE IF EXISTS "${table}"`)
        await pool.end()
      }
    },
  )

  it('fails with exit code 2 and one line on bad input, never echoing a URL', async () => {
    const runs = await Promise.all([
      cli(['prune']),
      cli(['prune', '--store']),
      cli(['prune', '--store', 'mysql://user:pa55word@host/db']),
      cli(['stats', '--store', 'sessions.db']),
      cli(['stats', '--store', 'sqlite:x.db', '--schema', 'auth']),
      cli(['stats', '--store', 'file:x', '--prefix', 'p:']),
      cli(['prune', '--store', 'sqlite:x.db', '--batch-size', '0']),
      cli(['stats', '--store', 'file:x', '--frob']),
      cli(['prune', 'extra', '--store', 'file:x']),
      cli(['stats', '--store', 'postgres://h/db', '--table', 'x'.repeat(70)]),
      cli(['stats', '--store', 'postgres://u:pa55word%zz@h/db']),
      cli(['stats', '--store', 'redis://127.0.0.1:6379/abc']),
    ])
    for (const run of runs) {
      oneLine(run)
      assert.ok(!run.stderr.includes('pa55word'), run.stderr)
    }
    assert.match(runs[0].stderr, /give --store URL or set CLOAKROOM_STORE/)
    assert.match(runs[1].stderr, /--store <value>' argument missing/)
    assert.match(runs[2].stderr, /unknown store scheme "mysql:"/)
    assert.match(runs[3].stderr, /--store needs a scheme/)
    assert.match(runs[4].stderr, /--schema applies to postgres stores only/)
    assert.match(runs[5].stderr, /--prefix applies to redis stores only/)
    assert.match(runs[6].stderr, /--batch-size must be a whole number/)
    assert.match(runs[7].stderr, /Unknown option '--frob'/)
    assert.match(runs[8].stderr, /takes no arguments/)
    assert.match(runs[9].stderr, /--table: PostgreSQL identifiers hold at most 63 bytes/)
    assert.match(runs[10].stderr, /--store is not a valid postgres:\/\/ URL/)
    assert.match(runs[11].stderr, /takes a database number as its path/)
  })

  it('fails with exit code 1 and one line when the store is missing or unreachable, creating nothing', async () => {
    const missingFile = join(temp, 'missing.db')
    const missingDir = join(temp, 'missing-dir')
    const runs = await Promise.all([
      cli(['prune', '--store', `sqlite:${missingFile}`]),
      cli(['stats', '--store', `file:${missingDir}`]),
      cli(['stats', '--store', 'postgres://postgres:pa55word@127.0.0.1:1/test']),
      cli(['stats', '--store', 'redis://:pa55word@127.0.0.1:1']),
      cli(['prune', '--store', `sqlite:${join(ROOT, 'package.json')}`]),
    ])
    for (const run of runs) {
      oneLine(run, 1)
      assert.ok(!run.stderr.includes('pa55word'), run.stderr)
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
    }
    assert.match(runs[0].stderr, /no SQLite database at /)
    assert.match(runs[1].stderr, /no directory at /)
    assert.match(
      runs[2].stderr,
      /cannot reach PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/test: .*ECONNREFUSED/,
    )
    assert.match(runs[3].stderr, /redis:\/\/:\*\*\*@127\.0\.0\.1:1: .*ECONNREFUSED/)
    assert.match(runs[4].stderr, /package\.json/)
    assert.equal(existsSync(missingFile), false)
    assert.equal(existsSync(missingDir), false)
  })

  it("prints usage for --help, listing every command and each command's options", async () => {
    const [help, prune, stats] = await Promise.all([
      cli(['--help']),
      cli(['prune', '--help']),
      cli(['stats', '--help']),
    ])
    assert.match(help.stdout, /keygen[\s\S]*inspect[\s\S]*prune[\s\S]*stats/)
    assert.equal(prune.code, 0)
    assert.match(
      prune.stdout,
      /--store URL[\s\S]*sqlite:PATH[\s\S]*--table[\s\S]*--schema[\s\S]*--batch-size[\s\S]*--json/,
    )
    assert.equal(stats.code, 0)
    assert.match(stats.stdout, /--store URL[\s\S]*--prefix[\s\S]*--json/)
  })
})

describe('cloakroom inspect (Pyramid cookies)', () => {
  const PYRAMID_SECRET = 'pyramid-secret-0123456789abcdefghijklmnopqrstuvwxyz'

  it('decodes a Pyramid cookie with the default or the given salt and hashalg', async () => {
    const [plain] = mint(createPyramidCookieFactory({ secret: PYRAMID_SECRET, now: () => NOW }), {
      user: 'ann',
    })
    const [salted] = mint(
      createPyramidCookieFactory({
        secret: PYRAMID_SECRET,
        salt: 'my.salt.',
        hashalg: 'sha256',
        now: () => NOW,
      }),
      { user: 'bob' },
    )
    const value = (cookie: string | undefined): string => cookie!.slice('session='.length)
    const [fromPlain, fromSalted, fromHeader, asText] = await Promise.all([
      cli(['inspect', value(plain), '--secret', PYRAMID_SECRET, '--json']),
      cli([
        'inspect',
        value(salted),
        '--secret',
        'w'.repeat(32),
        '--secret',
        PYRAMID_SECRET,
        '--salt',
        'my.salt.',
        '--hashalg',
        'sha256',
        '--json',
      ]),
      cli(['inspect', `a=1; ${plain!}`, '--json'], { CLOAKROOM_SECRET: PYRAMID_SECRET }),
      cli(['inspect', value(plain), '--secret', PYRAMID_SECRET]),
    ])
    assert.deepEqual(json(fromPlain), {
      kind: 'pyramid',
      created: new Date(NOW).toISOString(),
      lastActive: new Date(NOW).toISOString(),
      data: { user: 'ann' },
      system: {},
    })
    assert.deepEqual((json(fromSalted) as { data: unknown }).data, { user: 'bob' })
    assert.deepEqual(json(fromHeader), json(fromPlain))
    assert.match(asText.stdout, /kind: +pyramid\ncreated:/)
    for (const run of [fromPlain, fromSalted, fromHeader, asText]) {
      assert.ok(!run.stdout.includes(PYRAMID_SECRET), 'the secret is never printed')
    }
  })

  it('fails with exit code 2 and one line for a wrong salt or hashalg', async () => {
    const [cookie] = mint(createPyramidCookieFactory({ secret: PYRAMID_SECRET }), { user: 'ann' })
    const value = cookie!.slice('session='.length)
    const runs = await Promise.all([
      cli(['inspect', value, '--secret', PYRAMID_SECRET, '--salt', 'other.']),
      cli(['inspect', value, '--secret', PYRAMID_SECRET, '--hashalg', 'sha256']),
      cli(['inspect', value, '--secret', PYRAMID_SECRET, '--hashalg', 'md5']),
      cli(['inspect', 'c2hvcnQ=', '--secret', PYRAMID_SECRET]),
    ])
    for (const run of runs) {
      oneLine(run)
      assert.ok(!run.stderr.includes(PYRAMID_SECRET), run.stderr)
    }
    assert.match(
      runs[0].stderr,
      /as a Pyramid cookie it does not authenticate.*--salt or --hashalg/,
    )
    assert.match(runs[1].stderr, /as a Pyramid cookie it does not authenticate/)
    assert.match(runs[2].stderr, /"--hashalg".*MD5 is refused/)
    assert.match(runs[3].stderr, /not a Cloakroom signed .* or Pyramid \(base64\) cookie value/)
  })
})
