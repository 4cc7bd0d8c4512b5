// The small part of autocannon's programmatic API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  interface Histogram {
    readonly average: number
    readonly p50: number
    readonly p99: number
  }
  interface AutocannonOptions {
    readonly url: string
    readonly connections?: number
    readonly pipelining?: number
    readonly duration?: number
    readonly headers?: Record<string, string>
  }
  interface AutocannonResult {
    readonly requests: Histogram & { readonly total: number }
    readonly latency: Histogram
    readonly duration: number
    readonly errors: number
    readonly timeouts: number
    readonly non2xx: number
  }
  function autocannon(options: AutocannonOptions): Promise<AutocannonResult>
  export default autocannon
}
