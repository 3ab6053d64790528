import type { Kysely } from 'kysely'

// Frozen in time: API keys as first introduced. Only a SHA-256 of each key is kept.

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('api_keys')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('key_hash', 'char(64)', (c) => c.notNull().unique())
    .addColumn('key_prefix', 'varchar(16)', (c) => c.notNull())
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('lab_id', 'integer')
    .addColumn('label', 'varchar(200)', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at_ms', 'bigint')
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('api_keys').ifExists().execute()
}
