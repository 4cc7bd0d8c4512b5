/**
 * The load generator: a long-lived child process (pinned to its own core by `run.ts`) that runs
 * one autocannon measurement per IPC message and answers with the figures.
 */
import autocannon, { type AutocannonClient } from 'autocannon'

/** What `run.ts` asks for. */
export interface LoadRequest {
  readonly id: number
  readonly url: string
  readonly seconds: number
  readonly connections: number
  readonly headers: Record<string, string>
  /** The body every response must have; any other counts as a failure. */
  readonly expectedBody: string
  /**
   * When given, each request carries a different one of these `Cookie` headers, instead of the
   * one in `headers`: a cookie comes back only after all the others have been sent once.
   */
  readonly cookies?: readonly string[]
}

/** What the load generator answers. */
export interface LoadResult {
  readonly id: number
  readonly requests: number
  readonly requestsPerSecond: number
  readonly p99Ms: number
  /** Errors, timeouts, non-2xx answers and bodies other than the expected one. */
  readonly failures: number
  /** The responses (among the failures) whose body was not the expected one. */
  readonly wrongBodies?: number
  /** The first unexpected body, cut short. */
  readonly firstWrongBody?: string
  readonly error?: string
}

const send = (message: LoadResult): void => {
  process.send?.(message)
}

/**
 * Gives each connection its own share of `cookies` (cookie `i` to connection `i % connections`),
 * one request per cookie, which autocannon encodes once and the connection loops over: while a
 * connection goes round its share, the others send theirs, so a cookie comes back only after
 * about `cookies.length` requests. (A `setupRequest` picking the next cookie per request would
 * re-encode every request, which halved the load generator's throughput.)
 */
function shareCookies(
  cookies: readonly string[],
  connections: number,
): (client: AutocannonClient) => void {
  const shares = Array.from({ length: connections }, (_, k) =>
    cookies.filter((_, i) => i % connections === k).map((cookie) => ({ headers: { cookie } })),
  )
  let next = 0
  return (client) => client.setRequests(shares[next++ % connections]!)
}

async function measure(message: LoadRequest): Promise<LoadResult> {
  let firstWrongBody: string | undefined
  const result = await autocannon({
    url: message.url,
    connections: message.connections,
    pipelining: 1,
    duration: message.seconds,
    headers: message.headers,
    ...(message.cookies === undefined
      ? {}
      : { setupClient: shareCookies(message.cookies, message.connections) }),
    verifyBody: (body) => {
      if (body === message.expectedBody) return true
      firstWrongBody ??= body.slice(0, 60)
      return false
    },
  })
  return {
    id: message.id,
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    p99Ms: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx + result.mismatches,
    wrongBodies: result.mismatches,
    ...(firstWrongBody === undefined ? {} : { firstWrongBody }),
  }
}

process.on('message', (message: LoadRequest) => {
  measure(message).then(send, (error: unknown) =>
    send({
      id: message.id,
      requests: 0,
      requestsPerSecond: 0,
      p99Ms: 0,
      failures: 1,
      error: String(error),
    }),
  )
})

process.on('disconnect', () => process.exit(0))
send({ id: 0, requests: 0, requestsPerSecond: 0, p99Ms: 0, failures: 0 })
