import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { freePort } from '../helpers/redis-server.js'
import { runExample } from './spawn.js'

const EXAMPLES = [
  { file: 'examples/express/app.ts', says: 'Express on', answer: 'Visit number 1' },
  { file: 'examples/fastify/app.ts', says: 'Fastify on', answer: 'Visit number 1' },
  { file: 'examples/hono/app.ts', says: 'Hono on', answer: 'Visit number 1' },
  { file: 'examples/koa/app.ts', says: 'Koa on', answer: 'Visit number 1' },
  { file: 'examples/web/app.ts', says: 'Web handler on', answer: 'Visit number 1' },
  {
    file: 'examples/fred/server.ts',
    says: 'Fred is listening on',
    answer: 'Fred was not in the session',
  },
] as const

describe('the small examples print the address they listen on', { timeout: 120_000 }, () => {
  for (const { file, says, answer } of EXAMPLES) {
    it(`${file} with PORT set`, async () => {
      const port = await freePort()
      const example = runExample(file, { PORT: String(port) })
      try {
        const [line, url] = await example.waitForOutput(
          new RegExp(`^${says} (http://localhost:(\\d+)/)$`, 'm'),
        )
        assert.equal(line, `${says} http://localhost:${port}/`)
        const response = await fetch(url!)
        assert.equal(response.status, 200)
        assert.equal(await response.text(), answer)
      } finally {
        await example.stop()
      }
    })
  }
})
