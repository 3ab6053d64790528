// The embedded database of local mode (connectDatabase opens it for a `sqlite:` URL): SQLite through Node 24's built-in `node:sqlite`,
// behind Kysely's own SqliteDialect, so the repositories can run on it with no native add-on to install.
import { DatabaseSync, type SQLInputValue } from 'node:sqlite'
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely'

/** node:sqlite takes null, numbers, bigints, strings and bytes; Kysely may also pass booleans. */
const toSqlite = (parameters: ReadonlyArray<unknown>): SQLInputValue[] =>
  parameters.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p) as SQLInputValue)

/** node:sqlite's DatabaseSync in the shape Kysely's SqliteDialect drives (better-sqlite3's). */
export function nodeSqliteDatabase (path: string): SqliteDatabase {
  const db = new DatabaseSync(path)
  // WAL: the API reads while the worker writes; wait for a lock instead of failing at once.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000')
  return {
    close: () => { db.close() },
    prepare: (sql) => {
      const statement = db.prepare(sql)
      return {
        reader: statement.columns().length > 0,
        all: (parameters) => statement.all(...toSqlite(parameters)),
        run: (parameters) => statement.run(...toSqlite(parameters)),
        iterate: (parameters) => statement.iterate(...toSqlite(parameters))
      }
    }
  }
}

/** A Kysely instance on a SQLite file (":memory:" for a throwaway one). */
export function connectSqlite<DB> (path: string): Kysely<DB> {
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: nodeSqliteDatabase(path) }) })
}
