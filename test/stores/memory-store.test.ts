import { createMemoryStore } from 'cloakroom'
import { runStoreSuite } from 'cloakroom/testing'

runStoreSuite('memory store', () => createMemoryStore({ sweepIntervalMs: null }))
