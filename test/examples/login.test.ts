import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { freePort } from '../helpers/redis-server.js'
import { DemoClient, textOf } from '../demo/client.js'
import { fetchWhenUp, runExample, type RunningExample } from './spawn.js'

describe('examples/login (the login form on node:http)', { timeout: 60_000 }, () => {
  let example: RunningExample
  let url: string
  before(async () => {
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    example = runExample('examples/login/server.ts', { PORT: String(port) })
    await fetchWhenUp(url)
  })
  after(() => example.stop())

  it('serves an HTML page with a language', async () => {
    const page = await new DemoClient(url).get('/')
    assert.equal(page.status, 200)
    assert.match(page.body, /^<!doctype html><html lang="en">/)
  })

  it('refuses an empty or blank user name with a message, and logs in with a real one', async () => {
    const client = new DemoClient(url)
    for (const user of ['', '   ']) {
      const response = await client.submit('/', '/login', { user })
      assert.equal(response.status, 303)
      const text = textOf((await client.get('/')).body)
      assert.match(text, /Enter a user name to log in/, JSON.stringify(user))
      assert.doesNotMatch(text, /Welcome|Hello/)
      assert.match((await client.get('/')).body, /action="\/login"/, 'the login form again')
    }
    assert.equal((await client.submit('/', '/login', { user: '  ann ' })).status, 303)
    const text = textOf((await client.get('/')).body)
    assert.match(text, /Welcome, ann Hello ann/)
  })
})
