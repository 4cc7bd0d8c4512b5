import { randomBytes as cryptoRandomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** The session factories the demo can run on, chosen with `SESSION_FACTORY`. */
export const FACTORY_NAMES = ['sqlite', 'signed', 'encrypted', 'redis', 'postgres'] as const

/** One of {@link FACTORY_NAMES}. */
export type FactoryName = (typeof FACTORY_NAMES)[number]

/** Everything the demo reads from its environment, resolved and checked. */
export interface DemoConfig {
  /** The port to listen on (`PORT`, default 3000; 0 picks a free one). */
  readonly port: number
  /** The interface to listen on (`HOST`, default `localhost`: not reachable from the network). */
  readonly host: string
  /** The session factory (`SESSION_FACTORY`, default `sqlite`). */
  readonly factoryName: FactoryName
  /** Where the SQLite file and the development secret live (`DATA_DIR`, default `./.data`). */
  readonly dataDir: string
  /** The cookie secret: only the signed and encrypted factories need one. */
  readonly secret?: string
  /** `REDIS_URL`, for `SESSION_FACTORY=redis`. */
  readonly redisUrl?: string
  /** `DATABASE_URL`, for `SESSION_FACTORY=postgres`. */
  readonly databaseUrl?: string
  /**
   * Mark the cookie `Secure` (`COOKIE_SECURE`, default true). Browsers accept Secure cookies on
   * `http://localhost`; turn it off only to try the demo over plain HTTP under another host name.
   */
  readonly secureCookies: boolean
  /** The Redis key prefix (not read from the environment; tests give each run its own). */
  readonly redisPrefix?: string
  /** The PostgreSQL table (not read from the environment; tests give each run its own). */
  readonly postgresTable?: string
}

/**
 * A configuration the demo cannot start with, such as a missing secret or a `REDIS_URL` where
 * nothing answers; the message says what is wrong, in one line.
 */
export class DemoConfigError extends Error {
  override readonly name = 'DemoConfigError'
}

/** Where {@link readDemoConfig} reads and reports. */
export interface ReadDemoConfigOptions {
  /**
   * Relative paths are resolved against this directory.
   * @defaultValue `process.cwd()`
   */
  readonly cwd?: string
  /**
   * Receives the one-line notices (a generated development secret).
   * @defaultValue `console.log`
   */
  readonly log?: (line: string) => void
  /**
   * The source of the development secret.
   * @defaultValue `randomBytes` from `node:crypto`
   */
  readonly randomBytes?: (size: number) => Uint8Array
}

const SECRET_FILE = 'secret'

/**
 * Reads the development secret from `dataDir`, creating it (32 random bytes, base64url, mode
 * 0600 in a 0700 directory) on first use.
 */
function developmentSecret(
  dataDir: string,
  log: (line: string) => void,
  randomBytes: (size: number) => Uint8Array,
): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  chmodSync(dataDir, 0o700)
  const file = join(dataDir, SECRET_FILE)
  try {
    const secret = Buffer.from(randomBytes(32)).toString('base64url')
    // 'wx': never overwrite a secret another process wrote first.
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' })
    log(
      `SESSION_SECRET is not set: generated a development secret in ${file} (kept across restarts; set SESSION_SECRET in production).`,
    )
    return secret
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  chmodSync(file, 0o600)
  const secret = readFileSync(file, 'utf8').trim()
  if (Buffer.byteLength(secret) < 32) {
    throw new DemoConfigError(
      `${file} holds fewer than 32 bytes: delete it to generate a new development secret.`,
    )
  }
  log(`SESSION_SECRET is not set: using the development secret in ${file}.`)
  return secret
}

/**
 * Refuses a service address that is not a URL of one of `protocols`. The message never repeats
 * the value: it may hold a password.
 */
function checkServiceUrl(variable: string, value: string, protocols: readonly string[]): void {
  let protocol: string
  try {
    protocol = new URL(value).protocol
  } catch {
    throw new DemoConfigError(
      `${variable} is not a valid URL (its value is not shown: it may hold a password).`,
    )
  }
  if (!protocols.includes(protocol)) {
    throw new DemoConfigError(
      `${variable} must start with ${protocols.map((name) => `${name}//`).join(' or ')}.`,
    )
  }
}

/**
 * Reads the demo's configuration from environment variables.
 *
 * @param env the environment (`process.env`)
 * @param options where paths are resolved, where notices go, the source of randomness
 * @returns the configuration
 * @throws {@link DemoConfigError} for a value the demo cannot run with, such as a missing
 * `SESSION_SECRET` in production
 */
export function readDemoConfig(
  env: Readonly<Record<string, string | undefined>>,
  options: ReadDemoConfigOptions = {},
): DemoConfig {
  const cwd = options.cwd ?? process.cwd()
  const log = options.log ?? ((line: string) => console.log(line))
  const randomBytes = options.randomBytes ?? cryptoRandomBytes

  const portText = env.PORT ?? '3000'
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65_535) {
    throw new DemoConfigError(`PORT="${portText}" is not a port number (0 to 65535).`)
  }
  const factoryText = env.SESSION_FACTORY ?? 'sqlite'
  if (!(FACTORY_NAMES as readonly string[]).includes(factoryText)) {
    throw new DemoConfigError(
      `SESSION_FACTORY="${factoryText}" is not one of ${FACTORY_NAMES.join(', ')}.`,
    )
  }
  const factoryName = factoryText as FactoryName
  const secureText = (env.COOKIE_SECURE ?? 'true').toLowerCase()
  if (!['true', 'false', '1', '0'].includes(secureText)) {
    throw new DemoConfigError(`COOKIE_SECURE="${env.COOKIE_SECURE}" is not true or false.`)
  }
  const dataDir = resolve(cwd, env.DATA_DIR ?? '.data')

  let secret: string | undefined
  if (factoryName === 'signed' || factoryName === 'encrypted') {
    if (env.SESSION_SECRET !== undefined && env.SESSION_SECRET !== '') {
      secret = env.SESSION_SECRET
    } else if (env.NODE_ENV === 'production') {
      throw new DemoConfigError(
        `SESSION_SECRET is not set, and NODE_ENV=production: set it to at least 32 random bytes (in this repository, npm run cloakroom -- keygen prints one).`,
      )
    } else {
      secret = developmentSecret(dataDir, log, randomBytes)
    }
  }
  if (factoryName === 'redis') {
    if ((env.REDIS_URL ?? '') === '') {
      throw new DemoConfigError(
        'SESSION_FACTORY=redis needs REDIS_URL, such as redis://127.0.0.1:6379.',
      )
    }
    checkServiceUrl('REDIS_URL', env.REDIS_URL!, ['redis:', 'rediss:'])
  }
  if (factoryName === 'postgres') {
    if ((env.DATABASE_URL ?? '') === '') {
      throw new DemoConfigError(
        'SESSION_FACTORY=postgres needs DATABASE_URL, such as postgres://postgres@127.0.0.1/test.',
      )
    }
    checkServiceUrl('DATABASE_URL', env.DATABASE_URL!, ['postgres:', 'postgresql:'])
  }
  return {
    port,
    host: env.HOST ?? 'localhost',
    factoryName,
    dataDir,
    secureCookies: secureText === 'true' || secureText === '1',
    ...(secret === undefined ? {} : { secret }),
    ...(env.REDIS_URL === undefined ? {} : { redisUrl: env.REDIS_URL }),
    ...(env.DATABASE_URL === undefined ? {} : { databaseUrl: env.DATABASE_URL }),
  }
}
