// node:sqlite behind Kysely's SqliteDialect: the statements the readings store needs, and a file that survives
// a restart (the building block of the embedded local mode).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import t from 'tap'
import { connectSqlite } from '../src/sqlite.ts'

interface Db {
  readings: { lab_id: number, recorded_at_ms: number, temperature_milli_c: number }
  rollups: { lab_id: number, bucket_ms: number, readings: number, temperature_sum: number }
}

t.test('node:sqlite through Kysely', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labclimate-sqlite-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, 'labclimate.sqlite')
  let db = connectSqlite<Db>(file)
  await db.schema.createTable('readings')
    .addColumn('lab_id', 'integer', (c) => c.notNull())
    .addColumn('recorded_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('temperature_milli_c', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('readings_pk', ['lab_id', 'recorded_at_ms'])
    .execute()
  await db.schema.createTable('rollups')
    .addColumn('lab_id', 'integer', (c) => c.notNull())
    .addColumn('bucket_ms', 'bigint', (c) => c.notNull())
    .addColumn('readings', 'integer', (c) => c.notNull())
    .addColumn('temperature_sum', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('rollups_pk', ['lab_id', 'bucket_ms'])
    .execute()

  // First write wins: a redelivered reading changes nothing.
  const t0 = Date.UTC(2026, 10, 25, 12, 0, 0)
  const day = Array.from({ length: 2880 }, (_, i) => ({ lab_id: 7, recorded_at_ms: t0 + i * 30_000, temperature_milli_c: 19_000 + (i % 500) }))
  const first = await db.insertInto('readings').values(day).onConflict((oc) => oc.doNothing()).executeTakeFirst()
  t.equal(Number(first.numInsertedOrUpdatedRows), 2880)
  const again = await db.insertInto('readings').values(day.map((r) => ({ ...r, temperature_milli_c: 0 }))).onConflict((oc) => oc.doNothing()).executeTakeFirst()
  t.equal(Number(again.numInsertedOrUpdatedRows), 0, 'duplicates are ignored')

  // Rollups recomputed from raw rows and upserted with excluded.* (MySQL: ON DUPLICATE KEY UPDATE c = VALUES(c)).
  const recompute = async (): Promise<void> => {
    await db.insertInto('rollups')
      .columns(['lab_id', 'bucket_ms', 'readings', 'temperature_sum'])
      .expression((eb) => eb.selectFrom('readings')
        .select([
          'lab_id',
          sql<number>`recorded_at_ms - recorded_at_ms % 3600000`.as('bucket_ms'),
          eb.fn.countAll<number>().as('readings'),
          sql<number>`sum(temperature_milli_c)`.as('temperature_sum')
        ])
        // SQLite needs a WHERE in INSERT … SELECT … ON CONFLICT (else ON is read as a join's).
        .where(sql<boolean>`true`)
        .groupBy(['lab_id', sql`recorded_at_ms - recorded_at_ms % 3600000`]))
      .onConflict((oc) => oc.columns(['lab_id', 'bucket_ms']).doUpdateSet({
        readings: (eb) => eb.ref('excluded.readings'),
        temperature_sum: (eb) => eb.ref('excluded.temperature_sum')
      }))
      .execute()
  }
  await recompute()
  await recompute()
  const hours = await db.selectFrom('rollups').selectAll().orderBy('bucket_ms').execute()
  t.equal(hours.length, 24, 'one rollup per hour, recomputing twice adds nothing')
  t.ok(hours.every((h) => h.readings === 120))
  const expectedSum = day.reduce((a, r) => a + r.temperature_milli_c, 0)
  t.equal(hours.reduce((a, h) => a + h.temperature_sum, 0), expectedSum, 'integer sums are exact')
  t.equal(typeof hours[0]?.bucket_ms, 'number', 'epoch ms come back as numbers')
  t.equal(hours[0]?.bucket_ms, t0)

  // The data folder survives a restart.
  await db.destroy()
  db = connectSqlite<Db>(file)
  const count = await db.selectFrom('readings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(count.n, 2880, 'readings are still there after reopening the file')
  await db.destroy()
})
