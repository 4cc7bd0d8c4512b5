import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { createSignedCookieFactory } from 'cloakroom'
import { createFredApp, type FredData } from './app.js'

const secret = process.env.SESSION_SECRET ?? randomBytes(32).toString('base64url')
if (process.env.SESSION_SECRET === undefined) {
  console.log(
    'SESSION_SECRET is not set: using a random secret (sessions end when the server stops).',
  )
}
const factory = createSignedCookieFactory<FredData>({ secrets: secret })
const port = Number(process.env.PORT ?? 3000)
createServer(createFredApp(factory)).listen(port, () => {
  console.log(`Fred is listening on http://localhost:${port}/`)
})
