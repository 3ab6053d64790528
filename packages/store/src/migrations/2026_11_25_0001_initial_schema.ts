import type { Kysely } from 'kysely'

// Frozen in time: this file describes the schema as it was first created and imports no app code.

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('labs')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('address', 'varchar(500)', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .execute()

  await db.schema.createTable('readings')
    .addColumn('lab_id', 'integer', (c) => c.notNull())
    .addColumn('recorded_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('temperature_milli_c', 'integer', (c) => c.notNull())
    .addColumn('humidity_milli_pct', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('readings_pk', ['lab_id', 'recorded_at_ms'])
    .execute()

  for (const table of ['reading_rollups_minute', 'reading_rollups_hour']) {
    await db.schema.createTable(table)
      .addColumn('lab_id', 'integer', (c) => c.notNull())
      .addColumn('bucket_start_ms', 'bigint', (c) => c.notNull())
      .addColumn('reading_count', 'integer', (c) => c.notNull())
      .addColumn('temperature_sum', 'bigint', (c) => c.notNull())
      .addColumn('temperature_min', 'integer', (c) => c.notNull())
      .addColumn('temperature_max', 'integer', (c) => c.notNull())
      .addColumn('humidity_sum', 'bigint', (c) => c.notNull())
      .addColumn('humidity_min', 'integer', (c) => c.notNull())
      .addColumn('humidity_max', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['lab_id', 'bucket_start_ms'])
      .execute()
    // The all-labs averages read one time window across every lab: this index
    // covers that query, so it never touches the table rows.
    await db.schema.createIndex(`${table}_window_idx`).on(table)
      .columns(['bucket_start_ms', 'lab_id', 'reading_count', 'temperature_sum', 'humidity_sum'])
      .execute()
  }
}

export async function down (db: Kysely<any>): Promise<void> {
  for (const table of ['reading_rollups_hour', 'reading_rollups_minute', 'readings', 'labs']) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
