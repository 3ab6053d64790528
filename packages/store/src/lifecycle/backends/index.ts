import type { Kysely } from 'kysely'
import type { Database } from '../../database.ts'
import { dialectOf } from '../../dialect.ts'
import type { LifecycleBackend } from '../backend.ts'
import { withMysqlLifecycle } from './mysql.ts'
import { sqliteLifecycleBackend } from './sqlite.ts'

/** Runs `work` with the backend of `db`'s dialect: partitions on MySQL, range deletes on SQLite. */
export async function withLifecycle<T> (db: Kysely<Database>, work: (backend: LifecycleBackend) => Promise<T>): Promise<T> {
  return dialectOf(db) === 'sqlite' ? await work(sqliteLifecycleBackend(db)) : await withMysqlLifecycle(db, work)
}
