// Hono on @hono/node-server with no session: the baseline of the Hono rows.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { port, ready } from './common.js'

const app = new Hono()
app.get('*', (c) => c.text('ok'))
serve({ fetch: app.fetch, port: port(), hostname: '127.0.0.1' }, (info) => ready(info.port))
