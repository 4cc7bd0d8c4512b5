/**
 * The benchmark matrix: one entry per server. Adding a framework adapter, a factory or a peer is
 * one line here (plus its server module under `bench/servers/`).
 */

/** The frameworks, in table order. */
export const FRAMEWORKS = ['node:http', 'Express', 'Fastify', 'Hono', 'Koa'] as const

/** A framework of the matrix. */
export type Framework = (typeof FRAMEWORKS)[number]

/**
 * What the measured requests do: `read` reads one key of a valid session, `write` sets a key to a
 * new value, `untouched` carries the session cookie but never looks at the session.
 */
export type Mode = 'read' | 'write' | 'untouched'

/** Where a scenario keeps the session. */
export type Storage = 'none' | 'cookie' | 'memory' | 'file' | 'sqlite' | 'redis' | 'postgres'

/** How a cookie session protects the data in its cookie. */
export type CookieProtection = 'signs' | 'encrypts'

/**
 * How many distinct seeded cookies a {@link Scenario.newCookiePerRequest} measurement cycles
 * through: more than Cloakroom's verified-value and parsed-body caches hold (1000 entries each,
 * oldest evicted first), so a cookie has left both caches before it comes round again.
 */
export const COOKIE_POOL_SIZE = 4096

/** The suffix of the rows whose every request carries a different cookie. */
export const NEW_COOKIE_SUFFIX = ' (new cookie per request)'

/** One server of the matrix. */
export interface Scenario {
  readonly framework: Framework
  /** The library, as printed: `bare`, `Cloakroom signed`, `express-session (MemoryStore)`... */
  readonly name: string
  /**
   * `reference` is no library: `node-reference.ts` issues a signed cookie on each write but never
   * reads or verifies the incoming one, so its ratio bounds what issuing a cookie costs.
   */
  readonly library: 'bare' | 'cloakroom' | 'peer' | 'reference'
  readonly storage: Storage
  /** The module under `bench/servers/`, without `.ts`. */
  readonly server: string
  /** Extra environment for the server. */
  readonly env?: Readonly<Record<string, string>>
  /** The modes measured (not for bare servers). @defaultValue `['read', 'write']` */
  readonly modes?: readonly Mode[]
  /** For sessions kept in the cookie: whether the cookie's data is only signed or encrypted. */
  readonly protection?: CookieProtection
  /**
   * Every measured request carries a different valid cookie, taken in turn from a pool of
   * {@link COOKIE_POOL_SIZE} seeded ones, as when each request comes from another client (or, for
   * writes, carries the cookie the previous response set). Otherwise every request of a
   * measurement carries the same cookie, which Cloakroom verifies and parses once and then answers
   * from its caches.
   */
  readonly newCookiePerRequest?: boolean
}

const bare = (framework: Framework, server: string): Scenario => ({
  framework,
  name: 'bare',
  library: 'bare',
  storage: 'none',
  server,
})

const PROTECTION_OF_KIND: Record<string, CookieProtection> = {
  signed: 'signs',
  encrypted: 'encrypts',
  'signed+revocation': 'signs',
}

const STORAGE_OF_KIND: Record<string, Storage> = {
  signed: 'cookie',
  encrypted: 'cookie',
  'signed+revocation': 'cookie',
  memory: 'memory',
  file: 'file',
  sqlite: 'sqlite',
  redis: 'redis',
  postgres: 'postgres',
}

const cloakroom = (framework: Framework, server: string, kinds: readonly string[]): Scenario[] =>
  kinds.map((kind) => {
    const protection = PROTECTION_OF_KIND[kind]
    return {
      framework,
      name: `Cloakroom ${kind}`,
      library: 'cloakroom',
      storage: STORAGE_OF_KIND[kind] ?? 'cookie',
      server,
      env: { CLOAKROOM: kind },
      ...(protection === undefined ? {} : { protection }),
    }
  })

/**
 * Cloakroom's signed and encrypted cookies again, with a new cookie on every request: the
 * verification and parsing its caches skip when one cookie comes back again and again.
 */
const cloakroomNewCookie = (framework: Framework, server: string): Scenario[] =>
  cloakroom(framework, server, ['signed', 'encrypted']).map((scenario) => ({
    ...scenario,
    name: `${scenario.name}${NEW_COOKIE_SUFFIX}`,
    newCookiePerRequest: true,
  }))

const peer = (
  framework: Framework,
  name: string,
  storage: Storage,
  server: string,
  extra: { env?: Record<string, string>; protection?: CookieProtection } = {},
): Scenario => ({ framework, name, library: 'peer', storage, server, ...extra })

const ALL_KINDS = [
  'signed',
  'encrypted',
  'signed+revocation',
  'memory',
  'file',
  'sqlite',
  'redis',
  'postgres',
] as const

/** Every scenario, bare first within each framework. */
export const SCENARIOS: readonly Scenario[] = [
  bare('node:http', 'node-bare'),
  ...cloakroom('node:http', 'node-cloakroom', ALL_KINDS).map((scenario) =>
    scenario.name === 'Cloakroom signed'
      ? { ...scenario, modes: ['read', 'write', 'untouched'] as const }
      : scenario,
  ),
  ...cloakroomNewCookie('node:http', 'node-cloakroom'),
  peer('node:http', 'iron-session', 'cookie', 'node-iron-session', { protection: 'encrypts' }),
  {
    framework: 'node:http',
    name: 'reference: sign + headers, no session',
    library: 'reference',
    storage: 'cookie',
    server: 'node-reference',
    modes: ['write'],
  },

  bare('Express', 'express-bare'),
  ...cloakroom('Express', 'express-cloakroom', ['signed', 'encrypted', 'memory', 'redis']),
  ...cloakroomNewCookie('Express', 'express-cloakroom'),
  peer('Express', 'express-session (MemoryStore)', 'memory', 'express-session', {
    env: { EXPRESS_SESSION_STORE: 'memory' },
  }),
  peer('Express', 'express-session (connect-redis)', 'redis', 'express-session', {
    env: { EXPRESS_SESSION_STORE: 'redis' },
  }),
  peer('Express', 'cookie-session', 'cookie', 'express-cookie-session', { protection: 'signs' }),

  bare('Fastify', 'fastify-bare'),
  ...cloakroom('Fastify', 'fastify-cloakroom', ['signed', 'encrypted', 'memory']),
  ...cloakroomNewCookie('Fastify', 'fastify-cloakroom'),
  peer('Fastify', '@fastify/secure-session', 'cookie', 'fastify-secure-session', {
    protection: 'encrypts',
  }),
  peer('Fastify', '@fastify/session (memory)', 'memory', 'fastify-session'),

  bare('Hono', 'hono-bare'),
  ...cloakroom('Hono', 'hono-cloakroom', ['signed', 'encrypted']),
  ...cloakroomNewCookie('Hono', 'hono-cloakroom'),
  peer('Hono', 'hono-sessions (CookieStore)', 'cookie', 'hono-sessions', {
    protection: 'encrypts',
  }),

  bare('Koa', 'koa-bare'),
  ...cloakroom('Koa', 'koa-cloakroom', ['signed', 'encrypted']),
  ...cloakroomNewCookie('Koa', 'koa-cloakroom'),
  peer('Koa', 'koa-session', 'cookie', 'koa-session', { protection: 'signs' }),
]
