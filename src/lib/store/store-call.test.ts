import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it, mock } from 'node:test'
import { StoreUnavailableError, UnserializableValueError } from '../errors.js'
import { createStoreCaller } from './store-call.js'

/** A store answer the test settles by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Where each call stands after the microtasks have run. */
function track<T>(promise: Promise<T>) {
  const state: { settled: 'no' | 'resolved' | 'rejected'; value?: T; error?: unknown } = {
    settled: 'no',
  }
  promise.then(
    (value) => Object.assign(state, { settled: 'resolved', value }),
    (error: unknown) => Object.assign(state, { settled: 'rejected', error }),
  )
  return state
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('createStoreCaller', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }))
  afterEach(() => mock.timers.reset())

  it('gives each call its own deadline, though the calls share one timer', async () => {
    const call = createStoreCaller(100, undefined, Date.now)
    const first = track(call('load', () => new Promise(() => undefined)))
    mock.timers.tick(40)
    const second = track(call('load', () => new Promise(() => undefined)))
    const answered = deferred<string>()
    const third = track(call('load', () => answered.promise))
    mock.timers.tick(59)
    await flush()
    assert.equal(first.settled, 'no')
    mock.timers.tick(1)
    await flush()
    assert.equal(first.settled, 'rejected')
    assert.ok(first.error instanceof StoreUnavailableError)
    assert.match((first.error.cause as Error).message, /session store did not answer within 100 ms/)
    assert.equal(second.settled, 'no')
    answered.resolve('record')
    await flush()
    assert.deepEqual(third, { settled: 'resolved', value: 'record' })
    mock.timers.tick(39)
    await flush()
    assert.equal(second.settled, 'no')
    mock.timers.tick(1)
    await flush()
    assert.equal(second.settled, 'rejected')
  })

  it('never times out a call that answered, and starts afresh once idle', async () => {
    const call = createStoreCaller(50, 'revocation store', Date.now)
    const quick = track(call('get', () => Promise.resolve(1)))
    await flush()
    mock.timers.tick(1000)
    await flush()
    assert.deepEqual(quick, { settled: 'resolved', value: 1 })
    const late = track(call('get', () => new Promise(() => undefined)))
    mock.timers.tick(49)
    await flush()
    assert.equal(late.settled, 'no')
    mock.timers.tick(1)
    await flush()
    assert.match(((late.error as StoreUnavailableError).cause as Error).message, /revocation store/)
  })

  it('wraps rejections and synchronous throws, and lets Cloakroom errors through', async () => {
    const call = createStoreCaller(50, undefined, Date.now)
    await assert.rejects(
      call('commit', () => Promise.reject(new Error('ECONNRESET'))),
      (error: unknown) =>
        error instanceof StoreUnavailableError && (error.cause as Error).message === 'ECONNRESET',
    )
    await assert.rejects(
      call('commit', () => {
        throw new Error('sync')
      }),
      StoreUnavailableError,
    )
    const own = new UnserializableValueError('cart', 'cart', 'a function')
    await assert.rejects(
      call('commit', () => Promise.reject(own)),
      (error) => error === own,
    )
  })
})

describe('createStoreCaller, on the real clocks', () => {
  it(
    'times out on the monotonic clock while the wall clock stands still',
    { timeout: 10_000 },
    async () => {
      // Only Date is faked, and it never moves: deadlines taken from it would never pass.
      mock.timers.enable({ apis: ['Date'], now: 0 })
      try {
        const call = createStoreCaller(30)
        const started = performance.now()
        await assert.rejects(
          call('load', () => new Promise(() => undefined)),
          StoreUnavailableError,
        )
        assert.ok(performance.now() - started < 1000)
      } finally {
        mock.timers.reset()
      }
    },
  )
})
