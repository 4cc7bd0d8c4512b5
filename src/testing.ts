/**
 * `cloakroom/testing`: the conformance suites every store and adapter passes, to run on your own
 * with `node --test`.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from 'cloakroom'
 * import { runStoreSuite } from 'cloakroom/testing'
 * runStoreSuite('memory store', () => createMemoryStore())
 * ```
 *
 * @module cloakroom/testing
 */
export { runStoreSuite, type StoreSuiteOptions } from './lib/testing/store-suite.js'
export {
  listenHarness,
  runAdapterSuite,
  signedCookieSuiteFactory,
  type AdapterSuiteData,
  type AdapterSuiteFactory,
  type AdapterSuiteFactoryOptions,
  type AdapterSuiteFormRoute,
  type AdapterSuiteFormRoutes,
  type AdapterSuiteHarness,
  type AdapterSuiteOptions,
  type AdapterSuiteReply,
  type AdapterSuiteRoute,
  type AdapterSuiteRoutes,
  type MakeAdapterApp,
} from './lib/testing/adapter-suite.js'
