// Express with no session: the baseline of the Express rows.
import express from 'express'
import { port, ready } from './common.js'

const app = express()
app.get('/{*path}', (_req, res) => {
  res.type('text/plain').send('ok')
})
const server = app.listen(port(), '127.0.0.1', () => ready(server.address()))
