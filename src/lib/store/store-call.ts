import { CloakroomError, StoreUnavailableError } from '../errors.js'

/**
 * Runs one store call within a deadline, turning every failure (a rejection, a synchronous throw,
 * no answer in time) into {@link StoreUnavailableError} with the cause attached. Cloakroom's own
 * errors (a value that cannot be stored, a store's own StoreUnavailableError) pass unchanged.
 *
 * @param operation what the call does, for the error message (`load`, `commit`, ...)
 * @param timeoutMs the deadline, in milliseconds
 * @param run the store call
 * @param what the name of the store in the timeout message
 * @returns what the store answered
 * @throws {@link StoreUnavailableError} when the store fails or does not answer in time
 */
export function callStore<T>(
  operation: string,
  timeoutMs: number,
  run: () => Promise<T>,
  what = 'session store',
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`The ${what} did not answer within ${timeoutMs} ms.`))
    }, timeoutMs)
  })
  // An async wrapper turns a synchronous throw from a store into a rejection.
  const pending = (async () => run())()
  return Promise.race([pending, timeout]).then(
    (value) => {
      clearTimeout(timer)
      return value
    },
    (error: unknown) => {
      clearTimeout(timer)
      if (error instanceof CloakroomError) throw error
      throw new StoreUnavailableError(operation, { cause: error })
    },
  )
}
