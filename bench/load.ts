/**
 * The load generator: a long-lived child process (pinned to its own core by `run.ts`) that runs
 * one autocannon measurement per IPC message and answers with the figures.
 */
import autocannon from 'autocannon'

/** What `run.ts` asks for. */
export interface LoadRequest {
  readonly id: number
  readonly url: string
  readonly seconds: number
  readonly connections: number
  readonly headers: Record<string, string>
}

/** What the load generator answers. */
export interface LoadResult {
  readonly id: number
  readonly requests: number
  readonly requestsPerSecond: number
  readonly p99Ms: number
  readonly failures: number
  readonly error?: string
}

const send = (message: LoadResult): void => {
  process.send?.(message)
}

process.on('message', (message: LoadRequest) => {
  autocannon({
    url: message.url,
    connections: message.connections,
    pipelining: 1,
    duration: message.seconds,
    headers: message.headers,
  }).then(
    (result) =>
      send({
        id: message.id,
        requests: result.requests.total,
        requestsPerSecond: result.requests.total / result.duration,
        p99Ms: result.latency.p99,
        failures: result.errors + result.timeouts + result.non2xx,
      }),
    (error: unknown) =>
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
