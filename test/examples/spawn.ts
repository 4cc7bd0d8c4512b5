/** Runs an example's entry file as `npx tsx` would, for the tests of what it prints and serves. */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'

/** An example running in a child process. */
export interface RunningExample {
  /** Everything it printed so far, stdout and stderr. */
  output(): string
  /** Resolves with the first match of `pattern` in its stdout; fails after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** Stops the process and waits until it is gone. */
  stop(): Promise<void>
}

/**
 * Starts `node --import tsx <file>` from the repository root with `env` added to this process's
 * environment.
 *
 * @param file the entry file, such as `examples/express/app.ts`
 * @param env more environment variables, such as `PORT`
 * @returns the running example
 */
export function runExample(file: string, env: Record<string, string>): RunningExample {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return {
    output: () => stdout + stderr,
    async waitForOutput(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const match = pattern.exec(stdout)
        if (match !== null) return match
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`${file} printed no ${String(pattern)}:\n${stdout}${stderr}`)
        }
        await delay(50)
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    },
  }
}

/**
 * Fetches `url` until the server answers (an example that prints nothing when it listens).
 *
 * @param url the address to try
 * @param timeoutMs how long to keep trying
 * @returns the first response
 */
export async function fetchWhenUp(url: string, timeoutMs = 20_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await fetch(url, { redirect: 'manual' })
    } catch (error) {
      if (Date.now() > deadline) throw error
      await delay(100)
    }
  }
}
