// A TCP proxy the test can cut and restore: a database outage without touching the database.
import { createServer, connect } from 'node:net'
import { closeServer, endTogether, listenOnFreePort, openSockets } from './local-tcp.ts'

export interface TcpProxy {
  port: number
  /** Drops every open connection and refuses new ones (they are closed on arrival). */
  cut: () => void
  restore: () => void
  close: () => Promise<void>
}

export async function startTcpProxy (target: { host: string, port: number }): Promise<TcpProxy> {
  let down = false
  const sockets = openSockets()
  const server = createServer((client) => {
    sockets.track(client)
    if (down) { client.destroy(); return }
    const upstream = connect(target.port, target.host)
    sockets.track(upstream)
    client.pipe(upstream).pipe(client)
    endTogether(client, upstream)
  })
  return {
    port: await listenOnFreePort(server),
    cut: () => { down = true; sockets.destroyAll() },
    restore: () => { down = false },
    close: async () => { await closeServer(server, sockets) }
  }
}

/** The same database URL, routed through the proxy. */
export function viaProxy (databaseUrl: string, proxy: TcpProxy): string {
  const url = new URL(databaseUrl)
  url.hostname = '127.0.0.1'
  url.port = String(proxy.port)
  return url.toString()
}

/** The host and port a database URL points at: what a proxy in front of it forwards to. */
export function serverOf (databaseUrl: string): { host: string, port: number } {
  const url = new URL(databaseUrl)
  return { host: url.hostname, port: url.port === '' ? 3306 : Number(url.port) }
}
