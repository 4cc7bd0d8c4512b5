/**
 * What every benchmark server shares: the routes' behaviour, the secret, and the start-up
 * protocol with `run.ts` (print `ready <port>` once listening, or `skip <reason>` and exit).
 *
 * Routes, the same on every server:
 * - `GET /seed` stores `user` and a new value of `n` in the session (run.ts calls it to get a
 *   cookie, or thousands of times for a pool of distinct cookies: the new `n` makes every seeded
 *   session, and so every cookie's body, different) and answers `ok`;
 * - `GET /read` reads `user` and answers its id (read-only: no session write);
 * - `GET /write` sets `n` to a new value (a write on every request) and answers `user`'s id, so
 *   a write whose cookie was refused (a fresh session) answers `anonymous`;
 * - the bare servers answer `ok` on every path.
 *
 * run.ts checks the body of every response under load: `u1` for `/read` and `/write`.
 */
import type { AddressInfo } from 'node:net'

/** A 43-character secret: long enough for every library under test. */
export const SECRET = 'bench-secret-bench-secret-bench-secret-0001'

/** The data `/seed` stores. */
export const SEED_USER = { id: 'u1', name: 'Ada', roles: ['reader'] }

/** The user data shape every server stores. */
export type SeedUser = typeof SEED_USER

/** The answer to `/read` when the session holds the seeded user. */
export const readAnswer = (user: SeedUser | undefined): string => user?.id ?? 'anonymous'

let counter = 0
/** @returns a new value for each `/write` request */
export const nextValue = (): number => ++counter

/** @returns the port from `PORT` (0: any free port) */
export const port = (): number => Number(process.env.PORT ?? 0)

/** @returns the `CLOAKROOM` factory kind for Cloakroom servers */
export const factoryKind = (): string => process.env.CLOAKROOM ?? 'signed'

/**
 * Tells run.ts the server is listening.
 *
 * @param address the listening address, or a port number
 */
export function ready(address: AddressInfo | string | number | null): void {
  const value = typeof address === 'object' && address !== null ? address.port : address
  process.stdout.write(`ready ${String(value)}\n`)
}

/**
 * Tells run.ts this scenario cannot run here, then exits.
 *
 * @param reason one line
 * @returns never
 */
export function skip(reason: string): never {
  process.stdout.write(`skip ${reason.replace(/\s+/g, ' ')}\n`)
  process.exit(0)
}

// Exit normally on a signal, so `node --cpu-prof` still writes its profile.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0))
