// The small part of autocannon's programmatic API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  interface Histogram {
    readonly average: number
    readonly p50: number
    readonly p99: number
  }
  /** One entry of the sequence of requests a connection loops over. */
  interface AutocannonRequest {
    readonly headers?: Record<string, string>
  }
  /** One connection, as `setupClient` gets it before it connects. */
  interface AutocannonClient {
    /** Replaces the connection's sequence of requests (each encoded once, here). */
    setRequests(requests: readonly AutocannonRequest[]): void
  }
  interface AutocannonOptions {
    readonly url: string
    readonly connections?: number
    readonly pipelining?: number
    readonly duration?: number
    readonly headers?: Record<string, string>
    readonly requests?: readonly AutocannonRequest[]
    /** Called with each connection before it connects. */
    readonly setupClient?: (client: AutocannonClient) => void
    /** Called with each response's body; a falsy answer counts the response in `mismatches`. */
    readonly verifyBody?: (body: string) => boolean
  }
  interface AutocannonResult {
    readonly requests: Histogram & { readonly total: number }
    readonly latency: Histogram
    readonly duration: number
    readonly errors: number
    readonly timeouts: number
    readonly non2xx: number
    readonly mismatches: number
  }
  function autocannon(options: AutocannonOptions): Promise<AutocannonResult>
  export default autocannon
  export type { AutocannonClient, AutocannonRequest }
}
