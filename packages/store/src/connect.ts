import { Kysely, MysqlDialect } from 'kysely'
import { createPool } from 'mysql2'
import type { Database } from './database.ts'
import { connectSqlite } from './sqlite.ts'

export interface ConnectOptions {
  /** mysql://user:password@host:port/database, or sqlite:<file> for the embedded local mode */
  url: string
  /** Connections in the pool; the worker's batches and the API's queries each hold one. */
  poolSize?: number
}

export function connectDatabase ({ url, poolSize = 10 }: ConnectOptions): Kysely<Database> {
  if (url.startsWith('sqlite:')) return connectSqlite<Database>(url.slice('sqlite:'.length))
  const pool = createPool({
    uri: url,
    connectionLimit: poolSize,
    // SUM() of integer columns is DECIMAL in MySQL; our sums are exact integers below 2^53.
    decimalNumbers: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    // We store epoch ms, but pin the zone anyway so nothing depends on the server's.
    timezone: 'Z',
    enableKeepAlive: true,
    // Without FOUND_ROWS, affectedRows counts rows really inserted, not duplicates matched.
    flags: ['-FOUND_ROWS']
  })
  pool.on('connection', (connection) => { connection.query("SET time_zone = '+00:00'") })
  return new Kysely<Database>({ dialect: new MysqlDialect({ pool }) })
}
