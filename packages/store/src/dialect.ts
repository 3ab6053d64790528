import { SqliteAdapter, type Kysely } from 'kysely'

/**
 * The two databases the store runs on: MySQL (Aurora MySQL 3 in production, MariaDB in tests) and SQLite
 * (the embedded local mode). Almost every query is the same; the upserts are not
 * (`ON DUPLICATE KEY UPDATE c = VALUES(c)` against `ON CONFLICT (…) DO UPDATE SET c = excluded.c`).
 */
export type Dialect = 'mysql' | 'sqlite'

export function dialectOf (db: Kysely<any>): Dialect {
  return db.getExecutor().adapter instanceof SqliteAdapter ? 'sqlite' : 'mysql'
}
