import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import session from 'express-session'
import { rawRequest, startServer } from './http.js'

/** The express-session secret the migration tests use. */
export const LEGACY_SECRET = 'keyboard cat'

type Middleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void

/** Options of {@link expressSessionCookie}. */
export interface ExpressSessionCookieOptions {
  readonly secret?: string | string[]
  readonly name?: string
  readonly maxAge?: number
}

/**
 * Lets express-session itself create a session holding `data` in `store`, over a real HTTP
 * request, and returns the cookie value it sent, URL-decoded (`s:<sid>.<signature>`).
 */
export async function expressSessionCookie(
  store: session.Store,
  data: Record<string, unknown>,
  options: ExpressSessionCookieOptions = {},
): Promise<string> {
  const middleware = session({
    secret: options.secret ?? LEGACY_SECRET,
    store,
    resave: false,
    saveUninitialized: false,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.maxAge === undefined ? {} : { cookie: { maxAge: options.maxAge } }),
  }) as unknown as Middleware
  const server = await startServer((req, res) => {
    middleware(req, res, () => {
      Object.assign((req as unknown as { session: object }).session, data)
      res.end('ok')
    })
  })
  try {
    const response = await rawRequest(`${server.url}/`)
    const name = options.name ?? 'connect.sid'
    const header = response.setCookies.find((cookie) => cookie.startsWith(`${name}=`))
    assert.ok(header, 'express-session sent its cookie')
    return decodeURIComponent(header.slice(name.length + 1).split(';')[0]!)
  } finally {
    await server.close()
  }
}

/** The sid inside a signed `s:<sid>.<signature>` value. */
export const sidOf = (value: string): string => value.slice(2, value.lastIndexOf('.'))

/** Signs like express-session: `s:` + sid + `.` + unpadded base64 HMAC-SHA256. */
export const signLegacy = (sid: string, secret: string): string =>
  `s:${sid}.${createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '')}`

/** Reads a record from an express-session store. */
export const readLegacy = (
  store: { get(sid: string, callback: (error: unknown, value?: unknown) => void): unknown },
  sid: string,
): Promise<unknown> =>
  new Promise((resolve, reject) =>
    store.get(sid, (error, value) =>
      error === null || error === undefined
        ? resolve(value)
        : reject(error instanceof Error ? error : new Error('get failed', { cause: error })),
    ),
  )
