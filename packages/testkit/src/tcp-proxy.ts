// A TCP proxy the test can cut and restore: a database outage without touching the database.
import { createServer, connect, type Socket } from 'node:net'

export interface TcpProxy {
  port: number
  /** Drops every open connection and refuses new ones (they are closed on arrival). */
  cut: () => void
  restore: () => void
  close: () => Promise<void>
}

export async function startTcpProxy (target: { host: string, port: number }): Promise<TcpProxy> {
  let down = false
  const sockets = new Set<Socket>()
  const track = (s: Socket): void => { sockets.add(s); s.once('close', () => sockets.delete(s)) }
  const server = createServer((client) => {
    track(client)
    if (down) { client.destroy(); return }
    const upstream = connect(target.port, target.host)
    track(upstream)
    client.pipe(upstream).pipe(client)
    const end = (): void => { client.destroy(); upstream.destroy() }
    client.once('error', end); upstream.once('error', end)
    client.once('close', end); upstream.once('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    cut: () => { down = true; for (const s of sockets) s.destroy() },
    restore: () => { down = false },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
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
