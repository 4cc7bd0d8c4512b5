import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'

/**
 * @param predicate accepts or refuses a port (default: any)
 * @returns a TCP port that was free on 127.0.0.1 a moment ago
 */
export async function freePort(predicate: (port: number) => boolean = () => true): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer()
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo
        server.close(() => resolve(port))
      })
    })
    if (predicate(port)) return port
  }
}

/**
 * Checks that the Redis binaries the tests start themselves are installed. Locally it returns a
 * one-line skip reason when one is missing; with `CI=true` it throws instead.
 *
 * @param binaries the programs the test runs
 * @returns false when they are all installed, else the reason to skip
 */
export function redisBinariesSkip(binaries: readonly string[] = ['redis-server']): string | false {
  const missing = binaries.filter(
    (binary) => spawnSync(binary, ['--version'], { stdio: 'ignore' }).status !== 0,
  )
  if (missing.length === 0) return false
  const reason = `${missing.join(' and ')} not installed`
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: these tests must run)`)
  return reason
}

/** A redis-server child process on its own port, without persistence. */
export class RedisProcess {
  readonly port: number
  readonly #extraArgs: readonly string[]
  #child: ChildProcess | undefined

  /**
   * @param port the port to listen on
   * @param extraArgs more redis-server arguments (`--cluster-enabled yes`, ...)
   */
  constructor(port: number, extraArgs: readonly string[] = []) {
    this.port = port
    this.#extraArgs = extraArgs
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        ...this.#extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    this.#child = child
    let output = ''
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('Ready to accept connections')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)))
    })
  }

  /** Kills the server the hard way (as a crash would) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.#child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }

  /** Freezes the server: connections stay open, nothing is answered. */
  pause(): void {
    this.#child?.kill('SIGSTOP')
  }

  resume(): void {
    this.#child?.kill('SIGCONT')
  }
}
