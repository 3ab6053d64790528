import type { Kysely } from 'kysely'
import { Migrator } from 'kysely/migration'
import type { Database } from './database.ts'
import { migrations } from './migrations/index.ts'

export class MigrationError extends Error {
  override name = 'MigrationError'
}

/** Brings the schema up to date. Kysely's Migrator takes a lock, so concurrent starts are safe. */
export async function migrateToLatest (db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results = [] } = await migrator.migrateToLatest()
  const failed = results.find((r) => r.status === 'Error')
  if (error !== undefined) {
    throw new MigrationError(`migration ${failed?.migrationName ?? ''} failed`, { cause: error })
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
