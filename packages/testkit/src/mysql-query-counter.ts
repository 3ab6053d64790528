// A TCP proxy in front of MySQL/MariaDB that counts the statements its clients send (COM_QUERY,
// COM_STMT_EXECUTE) by reading the protocol's packets: what one process asked of the database,
// however many other tests share the server.
import { connect, createServer } from 'node:net'
import { closeServer, endTogether, listenOnFreePort, openSockets } from './local-tcp.ts'

const COM_QUERY = 0x03
const COM_STMT_EXECUTE = 0x17

export interface QueryCounter {
  port: number
  /** Statements sent through the proxy so far. */
  statements: () => number
  /** The text of every COM_QUERY seen (the first 200 characters). */
  texts: string[]
  /** Statements so far whose text matches `pattern` (e.g. /api_keys/: key lookups, not connection set-up). */
  matching: (pattern: RegExp) => number
  /** The same database URL, through the proxy. */
  url: (databaseUrl: string) => string
  close: () => Promise<void>
}

export async function startQueryCounter (databaseUrl: string): Promise<QueryCounter> {
  const target = new URL(databaseUrl)
  let statements = 0
  const texts: string[] = []
  const sockets = openSockets()
  const server = createServer((client) => {
    const upstream = connect(target.port === '' ? 3306 : Number(target.port), target.hostname)
    sockets.track(client, upstream)
    // Packets: 3-byte little-endian length, 1-byte sequence, payload. A command is a packet with sequence 0.
    let pending: Buffer = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      while (pending.length >= 4) {
        const length = pending.readUIntLE(0, 3)
        if (pending.length < 4 + length) break
        const sequence = pending[3]
        const command = pending[4]
        if (sequence === 0 && (command === COM_QUERY || command === COM_STMT_EXECUTE)) {
          statements++
          // MySQL 8.0.23+ (Aurora 3 too, not MariaDB) puts query attributes before the text when the client asks
          // for them (mysql2 does): a parameter count and a set count, 0x00 0x01 when there are none.
          const start = pending[5] === 0x00 && pending[6] === 0x01 ? 7 : 5
          if (command === COM_QUERY) texts.push(pending.subarray(start, Math.min(4 + length, start + 200)).toString())
        }
        pending = pending.subarray(4 + length)
      }
      upstream.write(chunk)
    })
    upstream.pipe(client)
    endTogether(client, upstream)
  })
  const port = await listenOnFreePort(server)
  return {
    port,
    statements: () => statements,
    texts,
    matching: (pattern) => texts.filter((text) => pattern.test(text)).length,
    url: (url) => {
      const u = new URL(url)
      u.hostname = '127.0.0.1'
      u.port = String(port)
      return u.toString()
    },
    close: async () => { await closeServer(server, sockets) }
  }
}
