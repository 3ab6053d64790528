// What the TCP proxies share: a local server on a free port that remembers its sockets, and socket pairs that end together.
import type { Server, Socket } from 'node:net'

/** The sockets a server has open, so that closing it (or cutting a proxy) drops them instead of waiting for them. */
export interface OpenSockets {
  track: (...sockets: Socket[]) => void
  destroyAll: () => void
}

export function openSockets (): OpenSockets {
  const sockets = new Set<Socket>()
  return {
    track: (...added) => { for (const s of added) { sockets.add(s); s.once('close', () => sockets.delete(s)) } },
    destroyAll: () => { for (const s of sockets) s.destroy() }
  }
}

/** Either side of a proxied connection failing or closing closes the other: no half-open pairs. */
export function endTogether (client: Socket, upstream: Socket): void {
  const end = (): void => { client.destroy(); upstream.destroy() }
  client.once('error', end); upstream.once('error', end)
  client.once('close', end); upstream.once('close', end)
}

/** Listens on 127.0.0.1 at a port the system picks; resolves to that port. */
export async function listenOnFreePort (server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return typeof address === 'object' && address !== null ? address.port : 0
}

/** Drops the open sockets, then waits for the server to close. */
export async function closeServer (server: Server, sockets: OpenSockets): Promise<void> {
  sockets.destroyAll()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}
