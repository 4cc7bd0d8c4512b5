import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createSignedCookieFactory } from 'cloakroom'
import { session, sessionErrorHandler } from 'cloakroom/express'

const secret = process.env.SESSION_SECRET ?? randomBytes(32).toString('base64url')
const factory = createSignedCookieFactory({ secrets: secret })

const app = express()
app.use(session(factory))
app.get('/', (req, res) => {
  const visits = Number(req.session.get('visits') ?? 0) + 1
  req.session.set('visits', visits)
  res.send(`Visit number ${visits}`)
})
app.use(sessionErrorHandler()) // after the routes: errors then count for setOnException

const server = app.listen(Number(process.env.PORT ?? 3000), (error?: Error) => {
  if (error) throw error
  console.log(`Express on http://localhost:${(server.address() as AddressInfo).port}/`)
})
