import net from 'node:net'

/** A TCP proxy to a local server that a test can take down (as a network cut would) and back up. */
export interface TcpProxy {
  /** The port clients connect to. */
  readonly port: number
  /** Cuts every open connection; with `refuse`, new ones are refused until {@link up}. */
  down(options?: { refuse?: boolean }): void
  /** Accepts connections again after `down({ refuse: true })`. */
  up(): Promise<void>
  close(): Promise<void>
}

/**
 * @param targetPort the local server's port
 * @returns the proxy, listening on a free port of 127.0.0.1
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => socket.destroy())
      socket.on('close', () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const cut = (): void => {
    for (const socket of sockets) socket.destroy()
  }
  return {
    port,
    down(options) {
      if (options?.refuse === true) server.close()
      cut()
    },
    up: () => new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve())),
    close: () => {
      cut()
      return new Promise((resolve) => {
        if (server.listening) server.close(() => resolve())
        else resolve()
      })
    },
  }
}
