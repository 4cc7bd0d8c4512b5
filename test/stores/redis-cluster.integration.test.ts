import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { createClient, createCluster } from 'redis'
import { createRedisStore, type RedisStore } from '../../src/redis.js'
import { runStoreSuite } from '../../src/testing.js'
import { HOUR, newIdHash, storedRecord } from '../helpers/stored-records.js'
import { freePort, redisBinariesSkip, RedisProcess } from '../helpers/redis-server.js'
import { uniqueName } from '../helpers/services.js'
import { runStoreConcurrencySuite } from '../helpers/store-concurrency.js'

// A real three-node Redis Cluster, started by this file on free ports: the README says the
// store works on `createCluster()`, and this is where that is checked.
const skip = redisBinariesSkip(['redis-server', 'redis-cli'])
const run = promisify(execFile)
const NODES = 3

type Cluster = ReturnType<typeof createCluster>

const nodes: RedisProcess[] = []
const directory = mkdtempSync(join(tmpdir(), 'cloakroom-cluster-'))
let cluster: Cluster | undefined

/** Starts the nodes, assigns the slots with `redis-cli --cluster create`, waits for `ok`. */
async function startCluster(): Promise<Cluster> {
  for (let index = 0; index < NODES; index++) {
    // A cluster node also listens on its port + 10000 (the cluster bus).
    const port = await freePort((candidate) => candidate + 10_000 <= 65_535)
    const node = new RedisProcess(port, [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(directory, `nodes-${port}.conf`),
      '--dir',
      directory,
    ])
    nodes.push(node)
    await node.start()
  }
  await run('redis-cli', [
    '--cluster',
    'create',
    ...nodes.map((node) => `127.0.0.1:${node.port}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ])
  for (const node of nodes) {
    for (let attempt = 0; ; attempt++) {
      const { stdout } = await run('redis-cli', ['-p', String(node.port), 'cluster', 'info'])
      if (stdout.includes('cluster_state:ok')) break
      if (attempt === 100) throw new Error(`node ${node.port} never reached cluster_state:ok`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const client = createCluster({
    rootNodes: nodes.map((node) => ({ url: `redis://127.0.0.1:${node.port}` })),
  })
  client.on('error', () => {})
  await client.connect()
  return client
}

let starting: Promise<Cluster> | undefined
const connected = (): Promise<Cluster> => (starting ??= startCluster().then((c) => (cluster = c)))

after(async () => {
  if (cluster !== undefined) await cluster.close()
  for (const node of nodes) await node.stop()
  rmSync(directory, { recursive: true, force: true })
})

/** A store on the cluster; every prefix is new, and the nodes are thrown away at the end. */
const storeOnCluster = async (prefix = `${uniqueName()}:`): Promise<RedisStore> =>
  createRedisStore({ client: await connected(), prefix })

runStoreSuite('redis store on a three-node Redis Cluster', () => storeOnCluster(), { skip })
runStoreConcurrencySuite('redis store on a three-node Redis Cluster', () => storeOnCluster(), {
  skip,
})

describe('createRedisStore on a Redis Cluster', { skip }, () => {
  before(connected)

  it('spreads sessions over every node, and finds an owner whose sessions live on all of them', async () => {
    const prefix = `${uniqueName()}:`
    const store = await storeOnCluster(prefix)
    const ids = Array.from({ length: 30 }, () => newIdHash())
    const expires = Date.now() + HOUR
    for (const id of ids) await store.set(id, storedRecord({ owner: 'grace', expires }))

    const keysPerNode: number[] = []
    for (const node of nodes) {
      const direct = createClient({ url: `redis://127.0.0.1:${node.port}` })
      await direct.connect()
      let count = 0
      for await (const keys of direct.scanIterator({ MATCH: `${prefix}{*`, COUNT: 500 })) {
        count += keys.length
      }
      await direct.close()
      keysPerNode.push(count)
    }
    assert.equal(
      keysPerNode.reduce((sum, count) => sum + count, 0),
      ids.length,
    )
    assert.ok(
      keysPerNode.every((count) => count > 0),
      `sessions per node: ${keysPerNode.join(', ')}`,
    )

    const listed = await store.listByOwner('grace')
    assert.deepEqual(listed.map((summary) => summary.idHash).sort(), [...ids].sort())
    assert.equal(await store.deleteByOwner('grace', ids[0]), ids.length - 1)
    assert.deepEqual(
      (await store.listByOwner('grace')).map((summary) => summary.idHash),
      [ids[0]],
    )
    assert.equal(await store.get(ids[1]!), undefined)
    assert.notEqual(await store.get(ids[0]!), undefined)
  })

  it('counts the sessions of every node in stats()', async () => {
    const store = await storeOnCluster(`${uniqueName()}:`)
    const time = Date.now()
    for (let index = 0; index < 20; index++) {
      await store.set(
        newIdHash(),
        storedRecord({ created: time - index * 1000, data: { n: 'x'.repeat(index) } }),
      )
    }
    assert.deepEqual(await store.stats(), {
      live: 20,
      expired: 0,
      oldestCreated: time - 19_000,
      largestBytes:
        Buffer.byteLength(JSON.stringify({ n: 'x'.repeat(19) })) +
        Buffer.byteLength(JSON.stringify({ csrf: 'token' })),
    })
  })
})
