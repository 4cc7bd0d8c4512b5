/**
 * Wraps an application's callback (a logger, an error reporter) so that an error it throws never
 * reaches the request that called it, where it could turn a handled failure into a 500 or, from a
 * stream callback, crash the process. The error is emitted as a process warning instead
 * (`process.on('warning')`, code `CLOAKROOM_HOOK_ERROR`).
 *
 * @param name the option that gave the callback, such as `onInvalidCookie`
 * @param hook the callback
 * @returns the callback, never throwing
 */
export function guardHook<Args extends unknown[]>(
  name: string,
  hook: (...args: Args) => unknown,
): (...args: Args) => void {
  return (...args) => {
    try {
      hook(...args)
    } catch (error) {
      process.emitWarning(
        `${name} threw (${String(error)}); the request went on without it. Make ${name} catch its own errors.`,
        { code: 'CLOAKROOM_HOOK_ERROR' },
      )
    }
  }
}
