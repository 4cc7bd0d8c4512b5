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

/** One server of the matrix. */
export interface Scenario {
  readonly framework: Framework
  /** The library, as printed: `bare`, `Cloakroom signed`, `express-session (MemoryStore)`... */
  readonly name: string
  /**
   * `reference` is no library: a server doing only the unavoidable work of a mode, to show the
   * ceiling of its ratio.
   */
  readonly library: 'bare' | 'cloakroom' | 'peer' | 'reference'
  readonly storage: Storage
  /** The module under `bench/servers/`, without `.ts`. */
  readonly server: string
  /** Extra environment for the server. */
  readonly env?: Readonly<Record<string, string>>
  /** The modes measured (not for bare servers). @defaultValue `['read', 'write']` */
  readonly modes?: readonly Mode[]
}

const bare = (framework: Framework, server: string): Scenario => ({
  framework,
  name: 'bare',
  library: 'bare',
  storage: 'none',
  server,
})

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
  kinds.map((kind) => ({
    framework,
    name: `Cloakroom ${kind}`,
    library: 'cloakroom',
    storage: STORAGE_OF_KIND[kind] ?? 'cookie',
    server,
    env: { CLOAKROOM: kind },
  }))

const peer = (
  framework: Framework,
  name: string,
  storage: Storage,
  server: string,
  env?: Record<string, string>,
): Scenario => ({ framework, name, library: 'peer', storage, server, ...(env ? { env } : {}) })

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
  peer('node:http', 'iron-session', 'cookie', 'node-iron-session'),
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
  peer('Express', 'express-session (MemoryStore)', 'memory', 'express-session', {
    EXPRESS_SESSION_STORE: 'memory',
  }),
  peer('Express', 'express-session (connect-redis)', 'redis', 'express-session', {
    EXPRESS_SESSION_STORE: 'redis',
  }),
  peer('Express', 'cookie-session', 'cookie', 'express-cookie-session'),

  bare('Fastify', 'fastify-bare'),
  ...cloakroom('Fastify', 'fastify-cloakroom', ['signed', 'encrypted', 'memory']),
  peer('Fastify', '@fastify/secure-session', 'cookie', 'fastify-secure-session'),
  peer('Fastify', '@fastify/session (memory)', 'memory', 'fastify-session'),

  bare('Hono', 'hono-bare'),
  ...cloakroom('Hono', 'hono-cloakroom', ['signed', 'encrypted']),
  peer('Hono', 'hono-sessions (CookieStore)', 'cookie', 'hono-sessions'),

  bare('Koa', 'koa-bare'),
  ...cloakroom('Koa', 'koa-cloakroom', ['signed', 'encrypted']),
  peer('Koa', 'koa-session', 'cookie', 'koa-session'),
]
