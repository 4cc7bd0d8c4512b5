import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createSignedCookieFactory } from 'cloakroom'
import { createFredApp, type FredData } from './app.js'

const secret = process.env.SESSION_SECRET ?? randomBytes(32).toString('base64url')
if (process.env.SESSION_SECRET === undefined) {
  console.log(
    'SESSION_SECRET is not set: using a random secret (sessions end when the server stops).',
  )
}
const factory = createSignedCookieFactory<FredData>({ secrets: secret })
const server = createServer(createFredApp(factory)).listen(Number(process.env.PORT ?? 3000), () => {
  console.log(`Fred is listening on http://localhost:${(server.address() as AddressInfo).port}/`)
})
