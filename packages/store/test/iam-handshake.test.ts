// IAM database authentication, end to end on the client side: a server speaking just enough of the MySQL protocol
// to do what Aurora does for an IAM user (switch the login to mysql_clear_password and take the token as the
// password) records what the real mysql2 pool sends. No AWS here; Aurora's checking of the token is AWS's part.
import { createServer, type Socket } from 'node:net'
import { sql } from 'kysely'
import t from 'tap'
import { connectDatabase, SESSION_SETUP } from '../src/index.ts'

interface Login { user: string, password: string, queries: string[] }

const packet = (seq: number, payload: Buffer): Buffer => {
  const header = Buffer.alloc(4)
  header.writeUIntLE(payload.length, 0, 3)
  header[3] = seq
  return Buffer.concat([header, payload])
}
const OK = Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]) // no rows, no insert id, autocommit, no warnings

function handshake (connectionId: number): Buffer {
  // CLIENT_LONG_PASSWORD|FOUND_ROWS|LONG_FLAG|CONNECT_WITH_DB|PROTOCOL_41|TRANSACTIONS|SECURE_CONNECTION|MULTI_RESULTS|PLUGIN_AUTH
  const caps = 0x1 | 0x2 | 0x4 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x20000 | 0x80000
  const id = Buffer.alloc(4); id.writeUInt32LE(connectionId)
  const lower = Buffer.alloc(2); lower.writeUInt16LE(caps & 0xffff)
  const upper = Buffer.alloc(2); upper.writeUInt16LE(caps >>> 16)
  return Buffer.concat([
    Buffer.from([0x0a]), Buffer.from('8.0.36-stand-in\0'), id, Buffer.from('abcdefgh'), Buffer.from([0]),
    lower, Buffer.from([0xff]), Buffer.from([0x02, 0x00]), upper, Buffer.from([21]), Buffer.alloc(10),
    Buffer.from('ijklmnopqrst\0'), Buffer.from('mysql_native_password\0')
  ])
}

/** Accepts logins as Aurora does for an IAM user and answers every query with OK. */
async function startStandIn (): Promise<{ port: number, logins: Login[], close: () => Promise<void> }> {
  const logins: Login[] = []
  const sockets = new Set<Socket>()
  let ids = 0
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    let stage: 'response' | 'token' | 'command' = 'response'
    let login: Login = { user: '', password: '', queries: [] }
    let buffered = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUIntLE(0, 3)) {
        const length = buffered.readUIntLE(0, 3)
        const seq = buffered[3] ?? 0
        const payload = buffered.subarray(4, 4 + length)
        buffered = buffered.subarray(4 + length)
        if (stage === 'response') {
          // HandshakeResponse41: capabilities 4, max packet 4, charset 1, 23 reserved, then the user name.
          login = { user: payload.subarray(32, payload.indexOf(0, 32)).toString(), password: '', queries: [] }
          stage = 'token'
          socket.write(packet(seq + 1, Buffer.concat([Buffer.from([0xfe]), Buffer.from('mysql_clear_password\0')])))
        } else if (stage === 'token') {
          login.password = payload.toString().replace(/\0$/, '')
          logins.push(login)
          stage = 'command'
          socket.write(packet(seq + 1, OK))
        } else if (payload[0] === 0x03) { // COM_QUERY
          login.queries.push(payload.subarray(1).toString())
          socket.write(packet(seq + 1, OK))
        } else if (payload[0] === 0x01) { // COM_QUIT
          socket.end()
        } else {
          socket.write(packet(seq + 1, OK))
        }
      }
    })
    socket.write(packet(0, handshake(++ids)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    logins,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

t.test('each new pooled connection logs in with a token of its own, and is pinned before use', async (t) => {
  const standIn = await startStandIn()
  t.teardown(standIn.close)
  let issued = 0
  const db = connectDatabase({
    url: `mysql://labclimate_worker@127.0.0.1:${standIn.port}/labclimate`,
    poolSize: 3,
    iamAuth: { region: 'eu-west-1', tokenSource: async () => `token-${++issued}` }
  })
  t.teardown(async () => { await db.destroy() })
  // Three connections held at once: three logins.
  await db.connection().execute(async (a) => await db.connection().execute(async (b) => await db.connection().execute(async (c) => {
    await Promise.all([a, b, c].map(async (conn) => await sql`SELECT 1`.execute(conn)))
  })))
  t.same(standIn.logins.map((l) => l.user), ['labclimate_worker', 'labclimate_worker', 'labclimate_worker'])
  t.same(standIn.logins.map((l) => l.password).sort(), ['token-1', 'token-2', 'token-3'], 'a fresh token per connection, sent as the clear-text password')
  // Reused connections do not sign again.
  for (let i = 0; i < 5; i++) await sql`SELECT 1`.execute(db)
  t.equal(issued, 3, 'no token for a connection the pool already holds')
  for (const login of standIn.logins) {
    t.same(login.queries.slice(0, SESSION_SETUP.length), [...SESSION_SETUP], 'UTC and REPEATABLE READ set before the first query')
  }
})

t.test('the real signer\'s token reaches the server for the URL\'s user', async (t) => {
  const standIn = await startStandIn()
  t.teardown(standIn.close)
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY }
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE'
  process.env.AWS_SECRET_ACCESS_KEY = 'example-secret'
  t.teardown(() => {
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID; else process.env.AWS_ACCESS_KEY_ID = saved.id
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY; else process.env.AWS_SECRET_ACCESS_KEY = saved.secret
  })
  const db = connectDatabase({ url: `mysql://labclimate_api@127.0.0.1:${standIn.port}/labclimate`, poolSize: 1, iamAuth: { region: 'eu-west-1' } })
  t.teardown(async () => { await db.destroy() })
  await sql`SELECT 1`.execute(db)
  const token = new URL(`https://${standIn.logins[0]?.password ?? ''}`)
  t.equal(token.host, `127.0.0.1:${standIn.port}`, 'signed for the host and port of the URL')
  t.equal(token.searchParams.get('Action'), 'connect')
  t.equal(token.searchParams.get('DBUser'), 'labclimate_api')
  t.equal(token.searchParams.get('X-Amz-Expires'), '900', 'valid 15 minutes, used only to log in')
  t.match(token.searchParams.get('X-Amz-Credential'), /^AKIDEXAMPLE\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/, 'signed with the task\'s credentials for rds-db')
})
