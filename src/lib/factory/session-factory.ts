import type { DefaultSessionData, Session } from '../session/session.js'

/** Options of {@link SessionFactory.commit}. */
export interface CommitOptions {
  /**
   * The handler threw (or rejected) and the response is an error. The session is saved only when
   * the factory's `setOnException` is true.
   */
  readonly failed?: boolean
}

const COMMIT_FAILED: CommitOptions = Object.freeze({ failed: true })
const COMMIT_OK: CommitOptions = Object.freeze({ failed: false })

/**
 * Library-internal: shared, frozen commit options, so adapters allocate none per request.
 *
 * @param failed whether the request failed
 * @returns the options
 */
export function commitOptions(failed: boolean): CommitOptions {
  return failed ? COMMIT_FAILED : COMMIT_OK
}

/**
 * The seam every adapter uses: turn a request's `Cookie` header into a session, and the session
 * into the `Set-Cookie` headers of the response. Factories hide where the data lives.
 *
 * @remarks
 * Write your own factory by implementing these two methods: create sessions with
 * `new Session(init, context, state)` in `load`, and read what happened with
 * `sessionChanges(session)` in `commit` (call its `lock()` so later writes fail loudly; its
 * `factoryState` is the `state` you passed). `load` must never throw for bad
 * input: a forged or garbage cookie yields a fresh session. Either method may return a promise
 * (server-side stores do); adapters await the commit before any header is sent.
 *
 * @example
 * ```ts
 * const factory = createSignedCookieFactory({ secrets: process.env.SESSION_SECRET! })
 * const session = await factory.load(request.headers.get('cookie'))
 * session.set('userId', 'u1')
 * for (const header of await factory.commit(session)) response.headers.append('set-cookie', header)
 * ```
 */
export interface SessionFactory<Data extends object = DefaultSessionData> {
  /** The name of the session cookie. */
  readonly cookieName: string
  /**
   * @param cookieHeader the request's raw `Cookie` header, if any
   * @returns the request's session (fresh when the cookie is missing or invalid)
   * @throws {@link StoreUnavailableError} from server-side factories when the store cannot be read
   */
  load(cookieHeader: string | null | undefined): Session<Data> | Promise<Session<Data>>
  /**
   * Saves what the request changed and returns the `Set-Cookie` header values to append: none
   * when nothing changed and no re-issue is due.
   *
   * @param session the session returned by `load`
   * @param options whether the request failed
   * @returns the `Set-Cookie` values
   * @throws {@link CookieTooLargeError} when the session does not fit in a cookie
   * @throws {@link UnserializableValueError} when a value changed in place can no longer be stored
   */
  commit(
    session: Session<Data>,
    options?: CommitOptions,
  ): readonly string[] | Promise<readonly string[]>
}
