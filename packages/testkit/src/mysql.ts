// Real MariaDB/MySQL for integration tests: each test file gets its own database, dropped at the end.
import { randomBytes } from 'node:crypto'
import { connectDatabase, migrateToLatest, type Database } from '@labclimate/store'
import type { Kysely } from 'kysely'
import { createConnection, type Connection } from 'mysql2/promise'

/** The one place tests read their own settings; .ci/run creates this user (see .ci/setup-mysql.sql). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'mysql://labclimate:labclimate@127.0.0.1:3306/labclimate'

/**
 * A connection with the server's administrative rights (creating users, server variables): root over the
 * socket of the suite's private server (TEST_MARIADB, set by scripts/test.ts), else the test user.
 */
export async function createAdminConnection (): Promise<Connection> {
  const own = process.env.TEST_MARIADB
  if (own !== undefined) return await createConnection({ socketPath: (JSON.parse(own) as { socket: string }).socket, user: 'root' })
  return await createConnection(TEST_DATABASE_URL)
}

interface Teardown { teardown: (fn: () => Promise<void> | void) => void }

export interface TestDatabase {
  url: string
  name: string
  db: Kysely<Database>
}

/** Creates an empty database named labclimate_t_<random>, migrated; dropped when the test ends. */
export async function createTestDatabase (t: Teardown, { migrate = true } = {}): Promise<TestDatabase> {
  const name = `labclimate_t_${randomBytes(5).toString('hex')}`
  // A connection per statement: a test may restart the server in between (the chaos test does).
  const admin = async (statement: string): Promise<void> => {
    const connection = await createConnection(TEST_DATABASE_URL)
    try {
      await connection.query(statement)
    } finally {
      await connection.end()
    }
  }
  await admin(`CREATE DATABASE \`${name}\``)
  const url = new URL(TEST_DATABASE_URL)
  url.pathname = `/${name}`
  const db = connectDatabase({ url: url.toString(), poolSize: 5 })
  // Before migrating: a migration that fails (e.g. SQL only MariaDB takes, on the MySQL leg) must still close the
  // pool, or the test process lives on until tap's timeout.
  t.teardown(async () => {
    await db.destroy()
    await admin(`DROP DATABASE IF EXISTS \`${name}\``)
  })
  if (migrate) await migrateToLatest(db)
  return { url: url.toString(), name, db }
}
