// Hono with Cloakroom's Hono middleware; the factory comes from CLOAKROOM.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { session } from '../../src/hono.js'
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

const app = new Hono()
app.use(session(await createBenchFactory(factoryKind())))
app.get('/read', (c) => c.text(readAnswer(c.get('session').get('user') as SeedUser | undefined)))
app.get('/write', (c) => {
  c.get('session').set('n', nextValue())
  return c.text(readAnswer(c.get('session').get('user') as SeedUser | undefined))
})
app.get('/seed', (c) => {
  c.get('session').set('user', SEED_USER)
  c.get('session').set('n', nextValue())
  return c.text('ok')
})
serve({ fetch: app.fetch, port: port(), hostname: '127.0.0.1' }, (info) => ready(info.port))
