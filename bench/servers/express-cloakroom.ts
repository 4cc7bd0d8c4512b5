// Express with Cloakroom's Express adapter; the factory comes from CLOAKROOM.
import express from 'express'
import { session } from '../../src/express.js'
import { createBenchFactory } from './cloakroom-factory.js'
import {
  factoryKind,
  nextValue,
  port,
  readAnswer,
  ready,
  SEED_USER,
  type SeedUser,
} from './common.js'

const app = express()
app.use(session(await createBenchFactory(factoryKind())))
app.get('/read', (req, res) => {
  res.type('text/plain').send(readAnswer(req.session.get('user') as SeedUser | undefined))
})
app.get('/write', (req, res) => {
  req.session.set('n', nextValue())
  res.type('text/plain').send(readAnswer(req.session.get('user') as SeedUser | undefined))
})
app.get('/seed', (req, res) => {
  req.session.set('user', SEED_USER)
  req.session.set('n', nextValue())
  res.type('text/plain').send('ok')
})
const server = app.listen(port(), '127.0.0.1', () => ready(server.address()))
