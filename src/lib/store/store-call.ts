import { CloakroomError, StoreUnavailableError } from '../errors.js'

/** What a running store call can ask about its deadline. */
export interface CallDeadline {
  /** The deadline passed: the call has failed, and its remaining commands should not be sent. */
  readonly expired: boolean
  /** The milliseconds left before the deadline (0 once it has passed). */
  readonly remainingMs: number
}

/** Runs one store call within the caller's deadline; see {@link createStoreCaller}. */
export type StoreCaller = <T>(
  operation: string,
  run: (deadline: CallDeadline) => Promise<T>,
) => Promise<T>

/** A store call waiting for its answer. */
interface PendingCall extends CallDeadline {
  /** When it times out, on the caller's clock (monotonic milliseconds). */
  readonly deadline: number
  /** Fails the call with the timeout error. */
  readonly expire: () => void
}

/**
 * The timeouts of one caller's pending calls, kept with a single timer. Every call of a caller
 * has the same timeout, so deadlines arrive in the order the calls began: the oldest pending call
 * is always the next to expire, and a `Set` (which keeps insertion order) is the queue.
 */
class Deadlines {
  readonly #timeoutMs: number
  readonly #clock: () => number
  readonly #pending = new Set<PendingCall>()
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(timeoutMs: number, clock: () => number) {
    this.#timeoutMs = timeoutMs
    this.#clock = clock
  }

  /** @returns the deadline of a call that begins now */
  deadlineFromNow(): number {
    return this.#clock() + this.#timeoutMs
  }

  add(call: PendingCall): void {
    this.#pending.add(call)
    if (this.#timer === undefined) this.#timer = setTimeout(this.#fire, this.#timeoutMs)
    else if (this.#pending.size === 1) this.#timer.ref()
  }

  remove(call: PendingCall): void {
    this.#pending.delete(call)
    // A fast store answers before the next call begins: rather than clear the timer and set a
    // new one for every call, it stays armed but no longer keeps the process alive.
    if (this.#pending.size === 0) this.#timer?.unref()
  }

  /** Expires every call past its deadline, then waits for the oldest one left. */
  readonly #fire = (): void => {
    this.#timer = undefined
    const now = this.#clock()
    for (const call of this.#pending) {
      if (call.deadline > now) {
        this.#timer = setTimeout(this.#fire, call.deadline - now)
        return
      }
      this.#pending.delete(call)
      call.expire()
    }
  }
}

/**
 * Makes the function that runs store calls within a deadline, turning every failure (a
 * rejection, a synchronous throw, no answer in time) into {@link StoreUnavailableError} with the
 * cause attached. Cloakroom's own errors (a value that cannot be stored, a store's own
 * StoreUnavailableError) pass unchanged.
 *
 * @remarks
 * This runs on every request of a server-side session, so it costs one promise per call, and
 * the deadlines of all the caller's pending calls share one timer (which keeps the process alive
 * only while a call is pending; it is left armed, unreferenced, between calls).
 *
 * @param timeoutMs the deadline of each call, in milliseconds
 * @param what the name of the store in the timeout message
 * @param clock monotonic milliseconds (a wall clock set back or forward must not delay or hasten
 *   a timeout); tests give a fake one
 * @returns `call(operation, run)`: `operation` names what the call does in the error message
 *   (`load`, `commit`, ...), `run` makes the store call (and may check `deadline.expired` between
 *   the commands of a call that sends several)
 */
export function createStoreCaller(
  timeoutMs: number,
  what = 'session store',
  clock: () => number = () => performance.now(),
): StoreCaller {
  const deadlines = new Deadlines(timeoutMs, clock)
  return <T>(operation: string, run: (deadline: CallDeadline) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const fail = (error: unknown): void => {
        deadlines.remove(pending)
        reject(
          error instanceof CloakroomError
            ? error
            : new StoreUnavailableError(operation, { cause: error }),
        )
      }
      const deadline = deadlines.deadlineFromNow()
      const pending: PendingCall = {
        deadline,
        // By the clock, not only once the timer has fired: a late timer must not let a call
        // that is past its deadline send one more command.
        get expired() {
          return clock() >= deadline
        },
        get remainingMs() {
          return Math.max(0, deadline - clock())
        },
        expire: () => fail(new Error(`The ${what} did not answer within ${timeoutMs} ms.`)),
      }
      deadlines.add(pending)
      let answer: Promise<T>
      try {
        // A store that throws synchronously fails the call like one that rejects.
        answer = run(pending)
      } catch (error) {
        fail(error)
        return
      }
      Promise.resolve(answer).then((value) => {
        deadlines.remove(pending)
        resolve(value)
      }, fail)
    })
}
