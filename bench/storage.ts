// Bytes per reading on disk, measured: `node bench/storage.ts [labs]` (default 350 labs × 2,880 readings = 1,008,000).
// Creates a scratch database labclimate_bench_<random> on TEST_DATABASE_URL (default: a private server, as `pnpm test`), stores one
// day of readings the way the worker does (storeReadings, 10 lab-days per transaction, labs in random order), runs
// ANALYZE TABLE, reads data + index bytes of that day's partition and of the rollups, writes the day's archive
// (gzip NDJSON) to a temporary folder, prints the figures and drops the database. About a minute.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readEnv } from '@labclimate/config'
import type { Reading } from '@labclimate/contract'
import { connectDatabase, LocalArchiveStore, migrateToLatest, storeReadings, writeDayArchive, partitionName, type Database } from '@labclimate/store'
import { DAY_MS } from '@labclimate/config'
import { sql, type Kysely } from 'kysely'
import { createConnection } from 'mysql2/promise'
import { suiteServer } from '@labclimate/testkit/mariadb-server'

const read = readEnv(process.env)
const ownServerUrl = read.url('TEST_DATABASE_URL', ['mysql'])
read.done()
const database = await suiteServer(ownServerUrl, (line) => { process.stderr.write(`${line}\n`) })
const serverUrl = database.url
const labs = Number(process.argv[2] ?? 350)
const PER_DAY = 2880
const DAY = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS // tomorrow: exactly one partition
const started = Date.now()

function labDay (labId: number): Reading[] {
  // A plausible room: a slow daily swing plus sensor noise, in thousandths.
  let x = labId * 2654435761 % 2147483648
  const noise = (): number => { x = (x * 1103515245 + 12345) % 2147483648; return x / 2147483648 - 0.5 }
  const base = 4000 + (labId % 20) * 1000
  return Array.from({ length: PER_DAY }, (_, i) => ({
    labId,
    recordedAtMs: DAY + i * 30_000,
    temperatureMilliC: Math.round(base + 1500 * Math.sin(i / PER_DAY * 2 * Math.PI) + 200 * noise()),
    humidityMilliPct: Math.round(45_000 + 8000 * Math.sin(i / PER_DAY * 2 * Math.PI + 1) + 1500 * noise())
  }))
}

const name = `labclimate_bench_${randomBytes(4).toString('hex')}`
const admin = await createConnection(serverUrl)
await admin.query(`CREATE DATABASE \`${name}\``)
const url = new URL(serverUrl); url.pathname = `/${name}`
const db: Kysely<Database> = connectDatabase({ url: url.toString(), poolSize: 2 })
const dir = await mkdtemp(join(tmpdir(), 'labclimate-bench-'))
try {
  await migrateToLatest(db)
  const order = Array.from({ length: labs }, (_, i) => i + 1).sort(() => Math.random() - 0.5)
  for (let i = 0; i < order.length; i += 10) {
    await storeReadings(db, order.slice(i, i + 10).flatMap(labDay))
  }
  const storedAt = Date.now()
  for (const table of ['readings', 'reading_rollups_minute', 'reading_rollups_hour']) await sql.raw(`ANALYZE TABLE ${table}`).execute(db)
  await sql`SET SESSION information_schema_stats_expiry = 0`.execute(db).catch(() => {}) // MySQL 8 caches these; MariaDB has no such cache
  const sizes = async (table: string, partition: string | null): Promise<{ rows: number, data: number, index: number }> => {
    const { rows } = await sql<{ data: number, idx: number }>`
      SELECT SUM(DATA_LENGTH) AS data, SUM(INDEX_LENGTH) AS idx FROM information_schema.PARTITIONS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table} AND (${partition} IS NULL OR PARTITION_NAME = ${partition})`.execute(db)
    const from = partition === null ? sql.raw(table) : sql.raw(`${table} PARTITION (${partition})`)
    const count = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${from}`.execute(db)
    return { rows: Number(count.rows[0]?.n), data: Number(rows[0]?.data), index: Number(rows[0]?.idx) }
  }
  // The .ibd files themselves (one per partition): MariaDB and MySQL 8 name the view differently.
  const fileBytes = async (table: string, partition: string | null): Promise<number | undefined> => {
    const pattern = `${name}/${table}${partition === null ? '' : `#p#${partition}`}`
    for (const view of ['INNODB_SYS_TABLESPACES', 'INNODB_TABLESPACES']) {
      try {
        const table = sql.raw(`information_schema.${view}`)
        const { rows } = await sql<{ bytes: number | null }>`SELECT SUM(FILE_SIZE) AS bytes FROM ${table} WHERE LOWER(NAME) = LOWER(${pattern})`.execute(db)
        if (rows[0]?.bytes != null) return Number(rows[0].bytes)
      } catch {}
    }
    return undefined
  }
  const p = partitionName(DAY)
  const files = {
    readings: await fileBytes('readings', p),
    reading_rollups_minute: await fileBytes('reading_rollups_minute', p),
    reading_rollups_hour: await fileBytes('reading_rollups_hour', null)
  }
  const measured = {
    readings: await sizes('readings', p),
    reading_rollups_minute: await sizes('reading_rollups_minute', p),
    reading_rollups_hour: await sizes('reading_rollups_hour', null)
  }
  const manifest = await db.connection().execute(async (conn) => await writeDayArchive(new LocalArchiveStore(dir), DAY,
    conn.selectFrom('readings').selectAll()
      .where('recorded_at_ms', '>=', DAY).where('recorded_at_ms', '<', DAY + DAY_MS)
      .orderBy('lab_id').orderBy('recorded_at_ms').stream(10_000), Date.now()))
  const { rows: version } = await sql<{ v: string }>`SELECT VERSION() AS v`.execute(db)
  const perReading = (bytes: number): number => Math.round(bytes / measured.readings.rows * 100) / 100
  const out = {
    server: version[0]?.v,
    readings: measured.readings.rows,
    labs,
    store_seconds: (storedAt - started) / 1000,
    tables: Object.fromEntries(Object.entries(measured).map(([t, m]) => [t, {
      rows: m.rows,
      data_bytes: m.data,
      index_bytes: m.index,
      bytes_per_row: Math.round((m.data + m.index) / m.rows * 10) / 10,
      bytes_per_reading: perReading(m.data + m.index),
      ibd_file_bytes: files[t as keyof typeof files]
    }])),
    archive: { rows: manifest.rows, gzip_bytes: manifest.bytes, bytes_per_reading: perReading(manifest.bytes) },
    seconds: (Date.now() - started) / 1000
  }
  console.log(JSON.stringify(out, null, 2))
} finally {
  await db.destroy()
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``)
  await admin.end()
  await rm(dir, { recursive: true, force: true })
  await database.stop()
}
