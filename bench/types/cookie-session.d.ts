// The part of cookie-session's API the benchmark uses (the package ships no types).
declare module 'cookie-session' {
  import type { RequestHandler } from 'express'
  function cookieSession(options: { name?: string; keys: string[] }): RequestHandler
  export default cookieSession
}
