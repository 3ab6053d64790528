// `bootstrap`: what an empty cluster needs before the services start, run as the cluster's master user by
// the deploy's one-off task, and safe to run on every deploy: schema, one user per role, the first admin key.
import { createApiKey, migrateToLatest, type Database } from '@labclimate/store'
import { sql, type Kysely } from 'kysely'
import { ROLE_GRANTS, ROLE_NAMES, roleUserName, type RoleName } from './roles.ts'

/** How the role users log in: RDS IAM tokens (Aurora), or passwords (MariaDB/MySQL without IAM: local, tests). */
export type RoleAuth = { kind: 'iam' } | { kind: 'password', passwords: Record<RoleName, string> }

export interface BootstrapOptions {
  roleAuth: RoleAuth
  /** Role user names are `<prefix><role>`; "labclimate_" by default. */
  userPrefix?: string
  /** The host part of the accounts ('%': any address; the security groups decide who reaches the database). */
  userHost?: string
  /** Keeps the first admin key before its row is committed; a failure here leaves no key behind. */
  saveAdminKey: (key: string, keyId: number) => Promise<void>
  now: () => number
  print: (line: string) => void
}

export interface BootstrapReport {
  migrations: string[]
  users: string[]
  /** The admin key made by this run, or undefined when a live one existed. */
  adminKeyId: number | undefined
}

const LOCK = "CONCAT('labclimate.bootstrap:', DATABASE())"

export async function bootstrap (db: Kysely<Database>, options: BootstrapOptions): Promise<BootstrapReport> {
  const prefix = options.userPrefix ?? 'labclimate_'
  const host = options.userHost ?? '%'
  // Two deploys at once: the second waits, then finds everything done.
  return await db.connection().execute(async (conn) => {
    const { rows } = await sql<{ got: number | null }>`SELECT GET_LOCK(${sql.raw(LOCK)}, 120) AS got`.execute(conn)
    if (Number(rows[0]?.got) !== 1) throw new Error('another bootstrap held its lock for 2 minutes; try again')
    try {
      const migrations = await migrateToLatest(conn, { print: options.print })
      const { rows: [dbRow] } = await sql<{ name: string }>`SELECT DATABASE() AS name`.execute(conn)
      const database = dbRow?.name ?? ''
      const users: string[] = []
      for (const role of ROLE_NAMES) {
        const user = roleUserName(prefix, role)
        await ensureUser(conn, user, host, options.roleAuth.kind === 'iam' ? undefined : options.roleAuth.passwords[role])
        for (const grant of ROLE_GRANTS[role]) {
          const on = grant.table === undefined ? sql`${sql.id(database)}.*` : sql`${sql.id(database)}.${sql.id(grant.table)}`
          await sql`GRANT ${sql.raw(grant.privileges)} ON ${on} TO ${user}@${host}`.execute(conn)
        }
        users.push(`${user}@${host}`)
      }
      options.print(`role users ready (${options.roleAuth.kind === 'iam' ? 'IAM authentication' : 'password'}): ${users.join(', ')}`)
      const adminKeyId = await ensureAdminKey(conn, options)
      return { migrations, users, adminKeyId }
    } finally {
      await sql`SELECT RELEASE_LOCK(${sql.raw(LOCK)})`.execute(conn)
    }
  })
}

/** Creates the account, or brings an existing one to the wanted way of logging in (a re-run converges). */
async function ensureUser (db: Kysely<Database>, user: string, host: string, password: string | undefined): Promise<void> {
  // Aurora MySQL's documented IAM form; MariaDB and plain MySQL have no such plugin (use passwords there).
  const identified = password === undefined ? sql`IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'` : sql`IDENTIFIED BY ${password}`
  await sql`CREATE USER IF NOT EXISTS ${user}@${host} ${identified}`.execute(db)
  await sql`ALTER USER ${user}@${host} ${identified}`.execute(db)
  // IAM tokens travel as a clear-text password: the account takes TLS connections only.
  if (password === undefined) await sql`ALTER USER ${user}@${host} REQUIRE SSL`.execute(db)
}

/**
 * The first admin key, only when no live admin key exists. Its row commits only after `saveAdminKey`
 * succeeded: a run that fails in between leaves no key nobody holds (which would lock the next run out).
 */
async function ensureAdminKey (db: Kysely<Database>, options: BootstrapOptions): Promise<number | undefined> {
  const existing = await db.selectFrom('api_keys').select('id').where('role', '=', 'admin').where('revoked_at_ms', 'is', null).orderBy('id').executeTakeFirst()
  if (existing !== undefined) {
    options.print(`a live admin key exists (id ${existing.id}): no new one made`)
    return undefined
  }
  return await db.transaction().execute(async (trx) => {
    const { key, apiKey } = await createApiKey(trx, { role: 'admin', labId: null, label: 'first admin key (bootstrap)', nowMs: options.now() })
    await options.saveAdminKey(key, apiKey.id)
    return apiKey.id
  })
}
