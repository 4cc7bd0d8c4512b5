import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import {
  createEncryptedCookieFactory,
  createSignedCookieFactory,
  type Session,
  type SessionFactory,
} from 'cloakroom'

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

const oneLine = (run: Run): void => {
  assert.equal(run.code, 2)
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
