/**
 * The stable codes of every error Cloakroom throws. Switch on `error.code` to handle them.
 */
export type CloakroomErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_UNSERIALIZABLE_VALUE'
  | 'ERR_COOKIE_TOO_LARGE'
  | 'ERR_SESSION_COMMITTED'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_CSRF_REJECTED'
  | 'ERR_FORM_TOO_LARGE'
  | 'ERR_INVALID_ARGUMENT'

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
   * @param options the underlying `cause`, if any (an error thrown by a serializer)
   */
  constructor(key: string, path: string, problem: string, options?: ErrorOptions) {
    super(
      'ERR_UNSERIALIZABLE_VALUE',
      `Session key "${key}" cannot be stored: ${path} is ${problem}. ` +
        'Store what the serializer keeps (the default one: JSON values and Date), or configure a serializer that supports it.',
      options,
    )
    this.key = key
    this.path = path
  }
}

/**
 * The session does not fit in one cookie (or, with `overflow: 'split'`, in the total budget of
 * its cookies). Thrown by the commit, before the response is sent.
 */
export class CookieTooLargeError extends CloakroomError {
  /**
   * The size of the whole `Set-Cookie` header that would have been sent, in bytes; for a split
   * session, what its cookies would add to the `Cookie` request header.
   */
  readonly size: number
  /** The configured limit (`maxCookieBytes`, or `maxTotalCookieBytes` for a split session). */
  readonly limit: number

  /**
   * @param size the measured size, in bytes
   * @param limit the configured limit, in bytes
   * @param options what was measured
   * @param options.split true when the size is the total of a split session's cookies
   */
  constructor(size: number, limit: number, options?: { readonly split?: boolean }) {
    super(
      'ERR_COOKIE_TOO_LARGE',
      (options?.split === true
        ? `Session cookies would add ${size} bytes to the Cookie request header; the limit is ${limit} ` +
          '(maxTotalCookieBytes; servers refuse request headers over 8 to 16 KB). '
        : `Session cookie would be ${size} bytes; the limit is ${limit} (browsers drop cookies over 4096). `) +
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
   * Always 503: the status that Express, Fastify and Koa error handlers read from `statusCode`,
   * so an outage passed to them is answered 503 Service Unavailable.
   */
  readonly statusCode = 503

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

/** Why a request failed the CSRF check. */
export type CsrfFailure = 'missing-token' | 'bad-token' | 'bad-origin'

/**
 * An unsafe request (POST, PUT, ...) failed the CSRF check: no token, a wrong token, or a
 * cross-origin `Origin`. The CSRF middlewares answer 403; handle it to answer otherwise.
 */
export class CsrfError extends CloakroomError {
  /** Why the request was refused. */
  readonly reason: CsrfFailure
  /** 403, for the error handlers of Express, Fastify and Koa. */
  readonly statusCode = 403

  /** @param reason why the request was refused */
  constructor(reason: CsrfFailure) {
    super(
      'ERR_CSRF_REJECTED',
      reason === 'bad-origin'
        ? 'The request came from another origin. Add the origin to trustedOrigins if it is yours.'
        : `The request carried ${reason === 'missing-token' ? 'no' : 'a wrong'} CSRF token. ` +
            'Send session.getCsrfToken() in the X-CSRF-Token header or the csrf_token form field.',
    )
    this.reason = reason
  }
}

/**
 * A form body is larger than the most the library reads itself (1 MiB): the CSRF middlewares of
 * Express and Koa, which parse a urlencoded form when no body parser ran before them, answer 413
 * instead of handing the handler an empty form.
 */
export class FormTooLargeError extends CloakroomError {
  /** 413, for the error handlers of Express and Koa. */
  readonly statusCode = 413
  /**
   * Headers for the error response, which Express's and Koa's error handlers send: the
   * connection is closed after the 413, so the rest of the body is never read.
   */
  readonly headers: Readonly<Record<string, string>> = { connection: 'close' }
  /** The limit, in bytes. */
  readonly limit: number

  /** @param limit the limit, in bytes */
  constructor(limit: number) {
    super(
      'ERR_FORM_TOO_LARGE',
      `The form body is larger than ${limit} bytes, the most csrf() reads itself. ` +
        'Mount a body parser with a higher limit before csrf() to accept larger forms.',
    )
    this.limit = limit
  }
}

/**
 * A session method was given an argument it cannot accept, such as an owner id that no store
 * could index (see `session.setOwner()`). Thrown at the call, before anything changes.
 */
export class InvalidArgumentError extends CloakroomError {
  /** The argument at fault, such as `owner`. */
  readonly argument: string

  /**
   * @param argument the argument at fault
   * @param message what is wrong and how to fix it
   */
  constructor(argument: string, message: string) {
    super('ERR_INVALID_ARGUMENT', `Invalid argument "${argument}": ${message}`)
    this.argument = argument
  }
}
