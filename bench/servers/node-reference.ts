// node:http doing only what any signed-cookie session must do on a write, with no session at
// all: serialize the data, base64url it, one HMAC-SHA256, and send Set-Cookie, Vary and
// Cache-Control. Its ratio to bare is the ceiling for a signed-cookie write on this machine.
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
