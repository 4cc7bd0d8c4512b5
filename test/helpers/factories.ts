import { createSignedCookieFactory, StoreUnavailableError, type SessionFactory } from 'cloakroom'

/**
 * A signed-cookie factory whose commits all fail as a store outage would: loading works, and
 * every commit rejects with {@link StoreUnavailableError}.
 */
export function commitFailingFactory(): SessionFactory {
  const base = createSignedCookieFactory({ secrets: 'k'.repeat(43) })
  return {
    cookieName: base.cookieName,
    load: (header) => base.load(header),
    commit: () => Promise.reject(new StoreUnavailableError('commit')),
  }
}
