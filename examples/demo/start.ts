import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { createDemoApp, type DemoAppOptions } from './app.js'
import { createDemoBackend, type DemoBackend } from './backend.js'
import type { DemoConfig } from './config.js'

/** A running demo. */
export interface RunningDemo {
  /** The address to open, such as `http://localhost:3000`. */
  readonly url: string
  /** The session factory it runs on. */
  readonly backend: DemoBackend
  /** Stops accepting requests, ends open connections and closes the store. */
  close(): Promise<void>
}

/** Options of {@link startDemo} besides the configuration. */
export type StartDemoOptions = Omit<DemoAppOptions, 'backend'>

/**
 * Starts the demo on `config.host` and `config.port`.
 *
 * @param config the demo configuration
 * @param options app options (the password, the clock, test hooks)
 * @returns the running demo
 */
export async function startDemo(
  config: DemoConfig,
  options: StartDemoOptions = {},
): Promise<RunningDemo> {
  const backend = await createDemoBackend(
    config,
    options.now === undefined ? {} : { now: options.now },
  )
  const app = createDemoApp({ ...options, backend })
  const server = createAdaptorServer({ fetch: app.fetch })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.port, config.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    await backend.close()
    throw error
  }
  const { port } = server.address() as AddressInfo
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    backend,
    close: async () => {
      await new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections()
        server.close(() => resolve())
      })
      await backend.close()
    },
  }
}
