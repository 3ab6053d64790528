// Per-role database users for a test database, made the way `bootstrap` makes them (password mode), under a
// prefix of their own so test files running at once never share an account; dropped when the test ends.
import { randomBytes } from 'node:crypto'
import { ROLE_NAMES, roleUserName, type RoleName } from '@labclimate/admin'
import { createConnection } from 'mysql2/promise'
import { TEST_DATABASE_URL, type TestDatabase } from './mysql.ts'

interface Teardown { teardown: (fn: () => Promise<void> | void) => void }

export interface RoleUsers {
  prefix: string
  passwords: Record<RoleName, string>
  /** The environment `bootstrap` reads for these users (ROLE_USERS_AUTH=password …). */
  env: Record<string, string>
  /** The test database's URL, logged in as that role. */
  url: (role: RoleName, password?: string) => string
  /** A statement as the suite's own user (who may create users), e.g. ALTER USER. */
  asSuiteUser: (statement: string, values?: unknown[]) => Promise<void>
}

export function roleUsersFor (t: Teardown, database: TestDatabase): RoleUsers {
  const prefix = `lct${randomBytes(4).toString('hex')}_`
  const passwords = Object.fromEntries(ROLE_NAMES.map((role) => [role, `pw-${role}-${randomBytes(6).toString('hex')}`])) as Record<RoleName, string>
  const asSuiteUser = async (statement: string, values: unknown[] = []): Promise<void> => {
    const connection = await createConnection(TEST_DATABASE_URL)
    try { await connection.query(statement, values) } finally { await connection.end() }
  }
  t.teardown(async () => {
    for (const role of ROLE_NAMES) await asSuiteUser('DROP USER IF EXISTS ?@?', [roleUserName(prefix, role), '%'])
  })
  return {
    prefix,
    passwords,
    env: {
      ROLE_USERS_AUTH: 'password',
      ROLE_USER_PREFIX: prefix,
      ...Object.fromEntries(ROLE_NAMES.map((role) => [`ROLE_USER_PASSWORD_${role.toUpperCase()}`, passwords[role]]))
    },
    url: (role, password = passwords[role]) => {
      const url = new URL(database.url)
      url.username = roleUserName(prefix, role)
      url.password = password
      return url.toString()
    },
    asSuiteUser
  }
}

/** Whether the suite's user may create users (.ci/setup-mysql.sql grants it; a server of your own may not). */
export async function mayCreateUsers (): Promise<boolean> {
  const connection = await createConnection(TEST_DATABASE_URL)
  try {
    const [rows] = await connection.query('SHOW GRANTS FOR CURRENT_USER()')
    return (rows as Array<Record<string, string>>).some((row) => /CREATE USER|ALL PRIVILEGES ON \*\.\*/.test(Object.values(row)[0] ?? ''))
  } finally {
    await connection.end()
  }
}
