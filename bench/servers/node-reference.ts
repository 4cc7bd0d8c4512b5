// node:http issuing a signed cookie with no session at all. On /write (and /seed) it ignores the
// request's cookie (never parses or verifies it), serializes a fixed user plus a counter,
// base64url-encodes it, computes one HMAC-SHA256, and sends Set-Cookie, Vary and Cache-Control,
// answering `ok`; /read answers `u1` without looking at any cookie. Its ratio to bare bounds what
// issuing a signed cookie costs on this machine; a real write must also verify the cookie it got.
import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import { nextValue, port, ready, SECRET, SEED_USER } from './common.js'

const key = Buffer.from(SECRET)

const server = createServer((req, res) => {
  res.setHeader('content-type', 'text/plain')
  // run.ts checks that /read sees the seeded user; nothing is verified here.
  if (req.url === '/read') return void res.end('u1')
  if (req.url === '/write' || req.url === '/seed') {
    const body = Buffer.from(JSON.stringify({ d: { user: SEED_USER, n: nextValue() } })).toString(
      'base64url',
    )
    const signed = `1.ref.${Date.now().toString(36)}.${body}`
    const mac = createHmac('sha256', key).update(signed).digest('base64url')
    res.setHeader('set-cookie', `session=${signed}.${mac}; Path=/; HttpOnly; SameSite=Lax`)
    res.setHeader('vary', 'Cookie')
    res.setHeader('cache-control', 'private, no-store')
  }
  res.end('ok')
})
server.listen(port(), '127.0.0.1', () => ready(server.address()))
