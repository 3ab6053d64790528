// A refused login is a connection-class error (the worker waits for good credentials); a refused query is not.
import { sql } from 'kysely'
import t from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { connectDatabase, isAuthError, isConnectionError } from '../src/index.ts'

async function failure (url: string, statement = sql`SELECT 1`): Promise<unknown> {
  const db = connectDatabase({ url, poolSize: 1 })
  try {
    await statement.execute(db)
    return undefined
  } catch (error) {
    return error
  } finally {
    await db.destroy()
  }
}

t.test('errno 1045 (wrong password) and an unknown user are connection-class; a missing table is not', async (t) => {
  const database = await createTestDatabase(t)
  const wrong = new URL(database.url)
  wrong.password = 'not-the-password'
  const denied = await failure(wrong.toString())
  t.match(denied, { errno: 1045 }, 'the server answers 1045 ER_ACCESS_DENIED_ERROR')
  t.ok(isConnectionError(denied) && isAuthError(denied), 'a wrong password is a connection error and an auth error')
  // Kysely or a caller may wrap it: the cause chain is followed.
  t.ok(isConnectionError(new Error('batch failed', { cause: denied })))

  const nobody = new URL(database.url)
  nobody.username = 'lct_nobody'
  const unknown = await failure(nobody.toString())
  t.ok(isConnectionError(unknown), `an unknown user (errno ${String((unknown as { errno?: number }).errno)}) too`)

  // A missing grant fails every message alike: no message is to blame (the worker waits, as for a refused login).
  const readOnly = `lct_ro_${database.name.slice(-10)}`
  const admin = connectDatabase({ url: database.url, poolSize: 1 })
  t.teardown(async () => {
    await sql`DROP USER IF EXISTS ${readOnly}@'%'`.execute(admin).catch(() => {})
    await admin.destroy()
  })
  const mayCreate = await sql`CREATE USER ${readOnly}@'%' IDENTIFIED BY 'ro'`.execute(admin).then(() => true, () => false)
  if (mayCreate) {
    await sql`GRANT SELECT ON ${sql.id(database.name)}.* TO ${readOnly}@'%'`.execute(admin)
    const ro = new URL(database.url)
    ro.username = readOnly
    ro.password = 'ro'
    const refused = await failure(ro.toString(), sql`INSERT INTO labs (name, address, created_at_ms) VALUES ('x', 'y', 0)`)
    t.match(refused, { errno: 1142 }, 'ER_TABLEACCESS_DENIED_ERROR')
    t.ok(isConnectionError(refused), 'a missing grant is connection-class too')
  }

  const missing = await failure(database.url, sql`SELECT * FROM no_such_table`)
  t.match(missing, { errno: 1146 })
  t.notOk(isConnectionError(missing) || isAuthError(missing), 'a query the server refuses is not')
})
