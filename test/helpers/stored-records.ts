import { createHash, randomBytes } from 'node:crypto'
import type { StoredSession } from '../../src/index.js'

/** One hour, in milliseconds. */
export const HOUR = 3_600_000

/** @returns a random record key, shaped like the factory's (SHA-256, base64url) */
export const newIdHash = (): string =>
  createHash('sha256').update(randomBytes(32)).digest('base64url')

/**
 * @param overrides fields to change
 * @returns a live stored session, for store tests
 */
export function storedRecord(overrides: Partial<StoredSession> = {}): StoredSession {
  const time = Date.now()
  return {
    data: { user: 'ada' },
    system: { csrf: 'token' },
    created: time,
    lastActive: time,
    expires: time + HOUR,
    ...overrides,
  }
}
