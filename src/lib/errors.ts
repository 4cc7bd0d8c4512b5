/**
 * The stable codes of every error Cloakroom throws. Switch on `error.code` to handle them.
 */
export type CloakroomErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_UNSERIALIZABLE_VALUE'
  | 'ERR_COOKIE_TOO_LARGE'
  | 'ERR_SESSION_COMMITTED'
  | 'ERR_STORE_UNAVAILABLE'

/**
 * The base class of every error Cloakroom throws; `code` tells them apart.
 *
 * @example
 * ```ts
 * try { session.set('when', new Map()) } catch (error) {
 *   if (error instanceof CloakroomError && error.code === 'ERR_UNSERIALIZABLE_VALUE') { ... }
 * }
 * ```
 */
export class CloakroomError extends Error {
  /** A stable, machine-readable code; see {@link CloakroomErrorCode}. */
  readonly code: CloakroomErrorCode

  /**
   * @param code the stable code of the error
   * @param message what happened and what to do about it
   * @param options the underlying `cause`, if any
   */
  constructor(code: CloakroomErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/**
 * An option given to a factory, store or adapter is missing or invalid. Thrown at construction,
 * never per request.
 */
export class ConfigError extends CloakroomError {
  /** The option at fault, such as `secrets[1]` or `sameSite`. */
  readonly option: string

  /**
   * @param option the option at fault
   * @param message what is wrong and how to fix it
   */
  constructor(option: string, message: string) {
    super('ERR_INVALID_OPTION', `Invalid option "${option}": ${message}`)
    this.option = option
  }
}

/**
 * A value cannot be stored faithfully by the session's serializer (a function, a symbol, a class
 * instance, a cycle, `NaN`, ...). Thrown by `session.set()` and, for values changed in place, by
 * the commit before the response is sent.
 */
export class UnserializableValueError extends CloakroomError {
  /** The session key holding the value. */
  readonly key: string
  /** Where inside the value the problem is, such as `cart.items[2]`. */
  readonly path: string

  /**
   * @param key the session key holding the value
   * @param path where inside the value the problem is
   * @param problem a description of the value that cannot be stored
   */
  constructor(key: string, path: string, problem: string) {
    super(
      'ERR_UNSERIALIZABLE_VALUE',
      `Session key "${key}" cannot be stored: ${path} is ${problem}. ` +
        'Store plain data (JSON values and Date), or configure a serializer that supports it.',
    )
    this.key = key
    this.path = path
  }
}

/**
 * The session does not fit in one cookie. Thrown by the commit, before the response is sent.
 */
export class CookieTooLargeError extends CloakroomError {
  /** The size of the whole `Set-Cookie` header that would have been sent, in bytes. */
  readonly size: number
  /** The configured limit (`maxCookieBytes`). */
  readonly limit: number

  /**
   * @param size the measured size of the `Set-Cookie` header, in bytes
   * @param limit the configured limit, in bytes
   */
  constructor(size: number, limit: number) {
    super(
      'ERR_COOKIE_TOO_LARGE',
      `Session cookie would be ${size} bytes; the limit is ${limit} (browsers drop cookies over 4096). ` +
        'Store less in the session, or use a server-side store (createStoreFactory).',
    )
    this.size = size
    this.limit = limit
  }
}

/**
 * The session was changed after its cookie had been committed (the response headers were already
 * sent), so the change could not be saved.
 */
export class SessionCommittedError extends CloakroomError {
  /** @param operation the session method that was called too late */
  constructor(operation: string) {
    super(
      'ERR_SESSION_COMMITTED',
      `session.${operation}() was called after the response headers were sent, so the change cannot be saved. ` +
        'Change the session before writing the response body or headers.',
    )
  }
}

/**
 * The session store could not be reached or did not answer in time. The driver's error is the
 * `cause`. Adapters answer 503 by default.
 */
export class StoreUnavailableError extends CloakroomError {
  /**
   * @param operation what was being done, such as `load` or `commit`
   * @param options the driver's error as `cause`
   */
  constructor(operation: string, options?: ErrorOptions) {
    super(
      'ERR_STORE_UNAVAILABLE',
      `The session store is unavailable (during ${operation}). ` +
        'Check that the store server is running and reachable; the request was not served with an empty session.',
      options,
    )
  }
}
