/** A session taken over from another session library; see {@link SessionAdopter}. */
export interface AdoptedSession {
  /** The user data, as plain values the factory's serializer can store. */
  readonly data: Readonly<Record<string, unknown>>
  /**
   * The user the session belongs to, for `listSessions` and `revokeSessions`: an id
   * `Session.setOwner` would accept. A session with any other owner string is refused (reported
   * to `onInvalidCookie` as `malformed`), as one whose data cannot be stored.
   */
  readonly owner?: string | undefined
}

/**
 * Takes over the sessions of the library an application used before Cloakroom, so that users
 * stay logged in across the switch. Pass one as the `adopt` option of `createStoreFactory`;
 * `adoptExpressSessions` is the one for express-session.
 *
 * @remarks
 * The factory consults the adopter only when a request brings no valid Cloakroom session and
 * sends at least one of `cookieNames`. The adopted data becomes the session's data and, at
 * commit, is saved under a new Cloakroom id; the same response deletes the legacy cookies and
 * the factory calls `forget` to remove the legacy record.
 *
 * An adopter must refuse (return `undefined` for) anything it cannot authenticate: adopting an
 * unsigned or wrongly signed id would let an attacker choose a victim's session (session
 * fixation). `load` and `forget` never throw for bad input; they throw (or reject) only when the
 * legacy store fails, which the factory treats as a store outage under `onStoreError`.
 *
 * @example
 * ```ts
 * const adopter: SessionAdopter = {
 *   cookieNames: ['legacy'],
 *   load: async (cookies) => lookUpVerified(cookies.legacy),
 *   forget: async (cookies) => removeVerified(cookies.legacy),
 * }
 * ```
 */
export interface SessionAdopter {
  /** The names of the legacy cookies the adopter reads (and the factory deletes). */
  readonly cookieNames: readonly string[]
  /**
   * The `Path` the legacy cookies were set with; the deletion must name the same path.
   * @defaultValue `'/'`
   */
  readonly cookiePath?: string | undefined
  /**
   * The `Domain` the legacy cookies were set with, if any; the deletion must name the same one.
   * @defaultValue undefined
   */
  readonly cookieDomain?: string | undefined
  /**
   * Reads the legacy session the cookies point to, after verifying them.
   *
   * @param cookies the values of the `cookieNames` the request sent (the others are absent)
   * @returns the session, or undefined when the cookies are not authentic or name no session
   */
  load(cookies: Readonly<Record<string, string>>): Promise<AdoptedSession | undefined>
  /**
   * Removes the legacy session once it has been saved under its new id (or ended by
   * `invalidate()`), so the legacy cookie can never be replayed. Without it, legacy records are
   * left to expire in their store.
   *
   * @param cookies the same values `load` received
   */
  forget?(cookies: Readonly<Record<string, string>>): Promise<void>
}
