import { commitOptions, type SessionFactory } from '../factory/session-factory.js'
import { statusForError } from '../http/carrier.js'
import type { ResponseInterceptorOptions } from '../http/response-interceptor.js'
import type { Session } from '../session/session.js'

/**
 * Library-internal: the commit a `node:http`-based adapter (node, Express, Koa) hands to
 * `interceptResponse`. One object per request instead of an options object and two closures.
 *
 * @typeParam Context - what the adapter's error reporter is told about (the request, Koa's
 *   context)
 */
export class InterceptedCommit<Data extends object, Context> implements ResponseInterceptorOptions {
  readonly #factory: SessionFactory<Data>
  readonly #session: Session<Data>
  readonly #context: Context
  readonly #report: (error: unknown, context: Context) => void

  /**
   * @param factory the factory that loaded the session
   * @param session the request's session
   * @param context passed to `report` with a commit error
   * @param report told about a session that could not be saved (made once per middleware)
   */
  constructor(
    factory: SessionFactory<Data>,
    session: Session<Data>,
    context: Context,
    report: (error: unknown, context: Context) => void,
  ) {
    this.#factory = factory
    this.#session = session
    this.#context = context
    this.#report = report
  }

  commit(failed: boolean): readonly string[] | Promise<readonly string[]> {
    return this.#factory.commit(this.#session, commitOptions(failed))
  }

  onCommitError(error: unknown): 500 | 503 {
    this.#report(error, this.#context)
    return statusForError(error)
  }
}
