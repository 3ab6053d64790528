import type { Kysely } from 'kysely'

// Frozen in time: this file describes the change as first made and imports no app code.
//
// One row per lab: when its rollups last changed (epoch ms, stamped by the writer just before it commits).
// The API's all-labs answer is kept up to date incrementally: it re-reads only the labs changed since its
// last refresh (and the minutes the window moved by), instead of every lab's whole day.

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('lab_rollup_changes')
    .addColumn('lab_id', 'integer', (c) => c.notNull().primaryKey())
    .addColumn('changed_at_ms', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('lab_rollup_changes_at_idx').on('lab_rollup_changes').columns(['changed_at_ms', 'lab_id']).execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('lab_rollup_changes').ifExists().execute()
}
