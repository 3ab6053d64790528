import { SqliteAdapter, sql, type Kysely } from 'kysely'

// Frozen in time: this file describes the change as first made and imports no app code.
//
// Partitions raw readings, and minute rollups, by day (RANGE on the epoch-ms column), from the oldest stored day
// (at most 62 back) through 7 ahead, then a catch-all `pmax`; why, and what the keys needed, is in
// docs/data-lifecycle.md ("Partitions"). Both MariaDB 10.11 and MySQL 8 accept every statement here.

// Kept here rather than imported from @labclimate/config: a migration imports nothing, so no later edit can change
// what it did (a day's length cannot change, but the rule is simpler to keep without exceptions).
const DAY_MS = 86_400_000
const AHEAD_DAYS = 7
const MAX_BACK_DAYS = 62

const TABLES = [
  { table: 'readings', column: 'recorded_at_ms' },
  { table: 'reading_rollups_minute', column: 'bucket_start_ms' }
]

function name (dayStartMs: number): string {
  return `p${new Date(dayStartMs).toISOString().slice(0, 10).replaceAll('-', '')}`
}

export async function up (db: Kysely<any>): Promise<void> {
  // SQLite (the embedded local mode) has no partitions: it expires days by range deletes.
  if (db.getExecutor().adapter instanceof SqliteAdapter) return
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS
  for (const { table, column } of TABLES) {
    const { rows } = await sql<{ oldest: number | string | null }>`SELECT MIN(${sql.ref(column)}) AS oldest FROM ${sql.table(table)}`.execute(db)
    const oldest = rows[0]?.oldest
    const oldestDay = oldest === null || oldest === undefined ? today : Math.floor(Number(oldest) / DAY_MS) * DAY_MS
    const first = Math.max(Math.min(oldestDay, today), today - MAX_BACK_DAYS * DAY_MS)
    const clauses: string[] = []
    for (let day = first; day <= today + AHEAD_DAYS * DAY_MS; day += DAY_MS) {
      clauses.push(`PARTITION ${name(day)} VALUES LESS THAN (${day + DAY_MS})`)
    }
    clauses.push('PARTITION pmax VALUES LESS THAN MAXVALUE')
    await sql.raw(`ALTER TABLE ${table} PARTITION BY RANGE (${column}) (${clauses.join(', ')})`).execute(db)
  }
}

export async function down (db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) return
  for (const { table } of TABLES) {
    await sql.raw(`ALTER TABLE ${table} REMOVE PARTITIONING`).execute(db)
  }
}
