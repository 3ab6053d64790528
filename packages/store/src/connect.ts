import { readFileSync } from 'node:fs'
import { Kysely, MysqlDialect } from 'kysely'
import { createPool, type PoolOptions } from 'mysql2'
import type { Database } from './database.ts'
import { rdsCaBundle, rdsIamTokenSource, type TokenSource } from './aurora.ts'
import { connectSqlite } from './sqlite.ts'

export interface ConnectOptions {
  /** mysql://user:password@host:port/database, or sqlite:<file> for the embedded local mode */
  url: string
  /** Connections in the pool; the worker's batches and the API's queries each hold one. */
  poolSize?: number
  /**
   * RDS IAM database authentication: each new connection signs a fresh token (valid 15 min, used only
   * to log in) instead of a password, so there is no password to rotate. Needs TLS. `tokenSource`
   * replaces the signer (tests).
   */
  iamAuth?: { region: string, tokenSource?: TokenSource }
  /** TLS, the server's certificate verified against the RDS CA bundle, or against `caFile` (PEM). */
  tls?: { caFile?: string }
}

/**
 * Run on every new connection before any query of ours. REPEATABLE READ is what the rollup upserts are
 * written for (a batch's reads see one snapshot); it is Aurora's and MariaDB's default, but a parameter
 * group can change that default, so it is pinned here. Both statements are valid on MySQL 8.0 and MariaDB.
 */
export const SESSION_SETUP = [
  "SET time_zone = '+00:00'",
  'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ'
] as const

/** The mysql2 pool options for `options` (pure apart from reading a CA file; exported for tests). */
export function mysqlPoolOptions ({ url, poolSize = 10, iamAuth, tls }: ConnectOptions): PoolOptions {
  const parsed = new URL(url)
  const pool: PoolOptions = {
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
  }
  if (tls !== undefined) {
    pool.ssl = { ca: tls.caFile === undefined ? rdsCaBundle() : readFileSync(tls.caFile, 'utf8'), rejectUnauthorized: true, minVersion: 'TLSv1.2' }
  }
  if (iamAuth !== undefined) {
    const source = iamAuth.tokenSource ?? rdsIamTokenSource({
      hostname: parsed.hostname,
      port: parsed.port === '' ? 3306 : Number(parsed.port),
      username: decodeURIComponent(parsed.username),
      region: iamAuth.region
    })
    // Aurora's AWSAuthenticationPlugin asks for the token through an auth switch to mysql_clear_password;
    // mysql2 calls this factory once per handshake, so every new connection gets a token of its own.
    pool.authPlugins = {
      mysql_clear_password: () => async () => Buffer.from(`${await source()}\0`)
    }
  }
  return pool
}

export function connectDatabase (options: ConnectOptions): Kysely<Database> {
  if (options.url.startsWith('sqlite:')) return connectSqlite<Database>(options.url.slice('sqlite:'.length))
  const pool = createPool(mysqlPoolOptions(options))
  pool.on('connection', (connection) => {
    // Queued on the connection ahead of the query that asked for it. A connection that cannot take its
    // settings is dropped, so the query fails as on a lost connection instead of running unpinned.
    for (const statement of SESSION_SETUP) {
      connection.query(statement, (error) => { if (error !== null) connection.destroy() })
    }
  })
  return new Kysely<Database>({ dialect: new MysqlDialect({ pool }) })
}
