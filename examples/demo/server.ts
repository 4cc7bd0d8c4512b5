/**
 * `npm start`: the Cloakroom demo on http://localhost:3000.
 *
 * Built on Hono (through `@hono/node-server` and `cloakroom/hono`): Web-standard, so the same app
 * runs on any runtime, with a typed `c.get('session')`. See app.ts.
 */
import { ConfigError } from 'cloakroom'
import { readDemoConfig, DemoConfigError } from './config.js'
import { startDemo } from './start.js'

try {
  const config = readDemoConfig(process.env)
  const demo = await startDemo(config)
  console.log(`Cloakroom demo (sessions: ${config.factoryName}) on ${demo.url}/`)
  const stop = (): void => {
    void demo.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
} catch (error) {
  // Bad settings (the demo's or the library's options), a store that does not answer and a busy
  // port: one line, no stack.
  if (error instanceof DemoConfigError || error instanceof ConfigError) {
    console.error(`Cannot start the demo: ${error.message}`)
    process.exit(1)
  }
  const { code, syscall } = error as { code?: unknown; syscall?: unknown }
  if (code === 'EADDRINUSE') {
    const port = (error as { port?: unknown }).port
    console.error(
      `Cannot start the demo: port ${String(port)} is in use. Stop what uses it, or set PORT.`,
    )
    process.exit(1)
  }
  // Other system errors (a DATA_DIR that is a file, a HOST that does not resolve): one line too.
  if (typeof code === 'string' && typeof syscall === 'string') {
    console.error(`Cannot start the demo: ${(error as Error).message}`)
    process.exit(1)
  }
  throw error
}
