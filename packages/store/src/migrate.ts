import type { Kysely } from 'kysely'
import { Migrator } from 'kysely/migration'
import type { Database } from './database.ts'
import { migrations } from './migrations/index.ts'

export class MigrationError extends Error {
  override name = 'MigrationError'
}

export interface MigrateOptions {
  /** Told what happened, in one line: "schema is up to date" or "migrations applied: …". */
  print?: (line: string) => void
}

/**
 * Brings the schema up to date and returns the names of the migrations it applied. The one way anything migrates:
 * the `migrate` command (CLI and admin task), `bootstrap`, the worker at start, `pnpm migrate` and the tests.
 * Kysely's Migrator takes a lock, so concurrent starts are safe.
 */
export async function migrateToLatest (db: Kysely<Database>, options: MigrateOptions = {}): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results = [] } = await migrator.migrateToLatest()
  const failed = results.find((r) => r.status === 'Error')
  if (error !== undefined) {
    throw new MigrationError(`migration ${failed?.migrationName ?? ''} failed`, { cause: error })
  }
  const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
  options.print?.(applied.length === 0 ? 'schema is up to date' : `migrations applied: ${applied.join(', ')}`)
  return applied
}
