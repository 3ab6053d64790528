// Data lifecycle against real MariaDB: daily partitions, archive-then-drop, rollup expiry, the lock.
import type { Reading } from '@labclimate/contract'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { sql, type Kysely } from 'kysely'
import { Migrator } from 'kysely/migration'
import t, { type Test } from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { expectedBuckets, storedRollups } from '@labclimate/testkit/rollups'
import { migrations } from '../src/migrations/index.ts'
import {
  archiveKeys, finestRetainedResolution, LocalArchiveStore, readingSeries, runMaintenance, storeReadings, withMysqlLifecycle,
  type ArchiveStore, type Database, type MaintenanceOptions
} from '../src/index.ts'
import type { RetentionPolicy } from '@labclimate/config'

const DAY = 86_400_000
const MINUTE = 60_000
const HOUR = 3_600_000
// The migration lays partitions out from the real "today" (it takes no clock); the scenario is placed relative to
// it, and everything after the migration runs on the injected NOW. A run crossing UTC midnight would see two
// todays, so one that starts in the last 5 minutes of a UTC day (this file takes well under that) waits for the next.
const untilMidnight = DAY - (Date.now() % DAY)
if (untilMidnight < 5 * MINUTE) await new Promise((resolve) => setTimeout(resolve, untilMidnight + 1000))
const BASE = Math.floor(Date.now() / DAY) * DAY
const NOW = BASE + 8 * DAY + 12 * HOUR
// Small numbers so one short timeline exercises every rule: raw kept from BASE+5d, minute from BASE+3d, hour from BASE+2d.
const POLICY: RetentionPolicy = { rawDays: 3, minuteDays: 5, hourDays: 6 }
const DATA_DAYS = [-1, 1, 2, 4, 6]
const LABS = [3, 8]

const pname = (dayStartMs: number): string => `p${new Date(dayStartMs).toISOString().slice(0, 10).replaceAll('-', '')}`

function readingsOfDay (labId: number, day: number): Reading[] {
  let x = labId * 7919 + day * 104729 + 1
  const next = (): number => { x = (x * 1103515245 + 12345) % 2147483648; return x / 2147483648 }
  // every 2 minutes, 720 a day
  return Array.from({ length: 720 }, (_, i) => ({
    labId,
    recordedAtMs: BASE + day * DAY + i * 2 * MINUTE,
    temperatureMilliC: Math.round(-5000 + next() * 30000),
    humidityMilliPct: Math.round(20000 + next() * 60000)
  }))
}
const INPUT = DATA_DAYS.flatMap((d) => LABS.flatMap((lab) => readingsOfDay(lab, d)))
const inDay = (r: Reading, day: number): boolean => r.recordedAtMs >= BASE + day * DAY && r.recordedAtMs < BASE + (day + 1) * DAY

async function partitionNames (db: Kysely<Database>, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`SELECT PARTITION_NAME AS name FROM information_schema.PARTITIONS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table} ORDER BY PARTITION_ORDINAL_POSITION`.execute(db)
  return rows.map((r) => r.name)
}

async function rawRows (db: Kysely<Database>): Promise<Array<[number, number, number, number]>> {
  const rows = await db.selectFrom('readings').selectAll().orderBy('lab_id').orderBy('recorded_at_ms').execute()
  return rows.map((r) => [r.lab_id, Number(r.recorded_at_ms), r.temperature_milli_c, r.humidity_milli_pct])
}
const tuples = (readings: Reading[]): Array<[number, number, number, number]> => readings.slice()
  .sort((a, b) => a.labId - b.labId || a.recordedAtMs - b.recordedAtMs)
  .map((r) => [r.labId, r.recordedAtMs, r.temperatureMilliC, r.humidityMilliPct])

async function setup (t: Test): Promise<{ db: Kysely<Database>, dir: string, archive: LocalArchiveStore }> {
  const { db } = await createTestDatabase(t)
  await storeReadings(db, INPUT)
  const dir = await mkdtemp(join(tmpdir(), 'labclimate-archive-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return { db, dir, archive: new LocalArchiveStore(dir) }
}

const options = (extra: Partial<MaintenanceOptions>): MaintenanceOptions => ({ retention: POLICY, aheadDays: 7, archiveRequired: true, nowMs: NOW, ...extra })

t.test('the migration partitions raw readings and minute rollups by day, with a catch-all', async (t) => {
  const { db } = await createTestDatabase(t)
  const expected = [...Array.from({ length: 8 }, (_, i) => pname(BASE + i * DAY)), 'pmax']
  t.same(await partitionNames(db, 'readings'), expected, 'today … today+7, then pmax')
  t.same(await partitionNames(db, 'reading_rollups_minute'), expected)
  t.same(await partitionNames(db, 'reading_rollups_hour'), [null], 'hour rollups are not partitioned')
  // Readings older than the first partition's day, and far in the future, still have a home.
  await storeReadings(db, [
    { labId: 1, recordedAtMs: BASE - 30 * DAY, temperatureMilliC: 1, humidityMilliPct: 1 },
    { labId: 1, recordedAtMs: BASE + 400 * DAY, temperatureMilliC: 2, humidityMilliPct: 2 }
  ])
  const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM readings PARTITION (${sql.raw(pname(BASE))})`.execute(db)
  t.equal(Number(rows[0]?.n), 1, 'an old reading lands in the first partition')
  const max = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM readings PARTITION (pmax)`.execute(db)
  t.equal(Number(max.rows[0]?.n), 1, 'a far-future reading lands in pmax')
})

t.test('without an archive and with ARCHIVE_REQUIRED, raw days are kept but partitions are still created ahead', async (t) => {
  const { db } = await setup(t)
  const report = await withMysqlLifecycle(db, async (b) => await runMaintenance(b, options({})))
  t.equal(report.status, 'done')
  t.same(report.rawDropped, [])
  t.same(report.rawRefused.map((r) => r.unit), [0, 1, 2, 3, 4].map((d) => pname(BASE + d * DAY)))
  t.same(report.created.readings, [8, 9, 10, 11, 12, 13, 14, 15].map((d) => pname(BASE + d * DAY)))
  t.same(await rawRows(db), tuples(INPUT), 'every raw row is still there')
})

t.test('a run archives expired days, then drops them; rollups survive; queries fall back to rollups', async (t) => {
  const { db, dir, archive } = await setup(t)
  const before = await partitionNames(db, 'readings')
  const report = await withMysqlLifecycle(db, async (b) => await runMaintenance(b, options({ archive })))
  const after = await partitionNames(db, 'readings')

  // Partitions: days BASE…BASE+4 (the first also held BASE−1) gone; created through BASE+15 (today of NOW = BASE+8, plus 7).
  t.same(before, [...Array.from({ length: 8 }, (_, i) => pname(BASE + i * DAY)), 'pmax'])
  t.same(after, [...Array.from({ length: 11 }, (_, i) => pname(BASE + (i + 5) * DAY)), 'pmax'])
  t.same(report.rawDropped.map((d) => [d.unit, d.days.length]), [
    [pname(BASE), 1], [pname(BASE + DAY), 1], [pname(BASE + 2 * DAY), 1], [pname(BASE + 3 * DAY), 0], [pname(BASE + 4 * DAY), 1]
  ])
  t.same(await rawRows(db), tuples(INPUT.filter((r) => inDay(r, 6))), 'only retained raw rows remain')

  // One archive per day with data, each equal to the input of that day, checksummed.
  t.equal(report.manifests.length, 4)
  for (const day of [-1, 1, 2, 4]) {
    const keys = archiveKeys(BASE + day * DAY)
    const manifest = JSON.parse(await readFile(join(dir, keys.manifest), 'utf8'))
    const bytes = await readFile(join(dir, keys.object))
    const expected = tuples(INPUT.filter((r) => inDay(r, day)))
    t.equal(manifest.rows, expected.length, `day ${day}: row count`)
    t.equal(manifest.bytes, bytes.length, `day ${day}: size`)
    t.equal(manifest.sha256, createHash('sha256').update(bytes).digest('hex'), `day ${day}: checksum`)
    const lines = gunzipSync(bytes).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
    t.same(lines.map((l) => [l.lab_id, l.recorded_at_ms, l.temperature_milli_c, l.humidity_milli_pct]), expected, `day ${day}: the rows themselves`)
  }
  t.comment(JSON.stringify({ before, after, manifest: report.manifests[0] }))

  // Rollups: minute kept from BASE+3d, hour from BASE+2d; what is kept equals a recomputation from the input.
  const minuteKept = INPUT.filter((r) => r.recordedAtMs >= BASE + 3 * DAY)
  const hourKept = INPUT.filter((r) => r.recordedAtMs >= BASE + 2 * DAY)
  t.same(await storedRollups(db, 'reading_rollups_minute'), expectedBuckets(minuteKept, MINUTE),
    'minute rollups of dropped raw day 4 survive; older ones expired')
  t.same(await storedRollups(db, 'reading_rollups_hour'), expectedBuckets(hourKept, HOUR), 'hour rollups of days 2 and 4 survive; older ones expired')
  t.same(report.minuteExpired, [0, 1, 2].map((d) => pname(BASE + d * DAY)))

  // A chart over a range whose raw data is gone is answered from the finest rollup still there.
  const series = async (fromMs: number, toMs: number): Promise<{ resolution: string, points: number }> => {
    const resolution = finestRetainedResolution(POLICY, { fromMs, nowMs: NOW, requested: 'raw' })
    return { resolution, points: (await readingSeries(db, { labId: 3, fromMs, toMs, resolution, limit: 100_000 })).length }
  }
  t.same(await series(BASE + 6 * DAY, BASE + 6 * DAY + HOUR), { resolution: 'raw', points: 30 })
  t.same(await series(BASE + 4 * DAY, BASE + 4 * DAY + 12 * HOUR), { resolution: 'minute', points: 360 }, 'raw expired: minute buckets')
  t.same(await series(BASE + 2 * DAY, BASE + 7 * DAY), { resolution: 'hour', points: 72 }, 'minute expired too: hour buckets (days 2, 4, 6)')
  const hourPoints = await readingSeries(db, { labId: 8, fromMs: BASE + 4 * DAY, toMs: BASE + 5 * DAY, resolution: 'hour', limit: 100 })
  const want = expectedBuckets(INPUT.filter((r) => r.labId === 8 && inDay(r, 4)), HOUR)
  t.same(hourPoints.map((p) => [p.bucketStartMs, p.count, p.temperatureSum]), [...want.entries()].map(([k, b]) => [Number(k.split(':')[1]), b.count, b.tSum]))

  // Running again changes nothing.
  const again = await withMysqlLifecycle(db, async (b) => await runMaintenance(b, options({ archive })))
  t.same([again.rawDropped, again.created.readings, again.minuteExpired, again.hourRowsDeleted], [[], [], [], 0])
  t.same(await partitionNames(db, 'readings'), after)
})

t.test('a failure between archive and drop drops nothing; the next run drops without archiving again', async (t) => {
  const { db, dir, archive } = await setup(t)
  const crashing = options({ archive, beforeDrop: async () => { throw new Error('crash between archive and drop') } })
  await t.rejects(withMysqlLifecycle(db, async (b) => await runMaintenance(b, crashing)), /crash between/)
  t.same(await rawRows(db), tuples(INPUT), 'nothing dropped')
  const firstKeys = archiveKeys(BASE - DAY)
  const manifest = JSON.parse(await readFile(join(dir, firstKeys.manifest), 'utf8'))
  t.equal(manifest.rows, 1440, 'the first unit was archived and confirmed before the failure')

  const report = await withMysqlLifecycle(db, async (b) => await runMaintenance(b, options({ archive })))
  t.same(report.manifests[0], manifest, 'the confirmed archive was reused, not rewritten')
  t.same(await rawRows(db), tuples(INPUT.filter((r) => inDay(r, 6))))
})

t.test('a day whose archive does not complete is not dropped, and is archived again next time', async (t) => {
  const { db, archive } = await setup(t)
  let calls = 0
  // Writes part of the object, then the store fails (like a lost connection to S3).
  const broken: ArchiveStore = {
    location: 'broken',
    putStream: async (key, body, o) => {
      calls++
      if (calls === 2) {
        const chunks: Uint8Array[] = []
        // eslint-disable-next-line no-unreachable-loop -- a partial write: only the first chunk, and `break` closes the body as a dropped upload would
        for await (const c of body) { chunks.push(c); break }
        await archive.putJson(`${key}.garbage`, chunks.length)
        throw new Error('connection reset by the store')
      }
      await archive.putStream(key, body, o)
    },
    putJson: async (k, v) => { await archive.putJson(k, v) },
    getJson: async (k) => await archive.getJson(k),
    size: async (k) => await archive.size(k)
  }
  await t.rejects(withMysqlLifecycle(db, async (b) => await runMaintenance(b, options({ archive: broken }))), /connection reset/)
  t.same(await partitionNames(db, 'readings'), [
    ...Array.from({ length: 1 }, () => pname(BASE + DAY)),
    ...Array.from({ length: 14 }, (_, i) => pname(BASE + (i + 2) * DAY)),
    'pmax'
  ], 'the first unit (archived) went, the second (archive failed) is still there')
  t.equal(await archive.getJson(archiveKeys(BASE + DAY).manifest), undefined, 'no manifest for the failed day')
  t.equal(await archive.size(archiveKeys(BASE + 2 * DAY).object), undefined, 'and the run stopped there')
  const report = await withMysqlLifecycle(db, async (b) => await runMaintenance(b, options({ archive })))
  t.same(report.manifests.map((m) => [m.day, m.rows]), [1, 2, 4].map((d) => [new Date(BASE + d * DAY).toISOString().slice(0, 10), 1440]))
  t.same(await rawRows(db), tuples(INPUT.filter((r) => inDay(r, 6))))
})

t.test('two runs at once: the second finds the lock taken and does nothing', async (t) => {
  const { db, archive } = await setup(t)
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  let paused!: () => void
  const reached = new Promise<void>((resolve) => { paused = resolve })
  const first = withMysqlLifecycle(db, async (b) => await runMaintenance(b, options({ archive, beforeDrop: async () => { paused(); await gate } })))
  await reached
  const second = await withMysqlLifecycle(db, async (b) => await runMaintenance(b, options({ archive })))
  t.equal(second.status, 'locked', 'the run on another connection is turned away')
  t.same(await rawRows(db), tuples(INPUT), 'and dropped nothing')
  release()
  t.equal((await first).status, 'done')
  const third = await withMysqlLifecycle(db, async (b) => await runMaintenance(b, options({ archive })))
  t.equal(third.status, 'done', 'the lock is released after a run')
})

t.test('after create-ahead, tomorrow\'s reading lands in its own day partition', async (t) => {
  const { db } = await createTestDatabase(t)
  const far = BASE + 30 * DAY
  await withMysqlLifecycle(db, async (b) => await runMaintenance(b, options({ nowMs: far, archiveRequired: false })))
  const names = await partitionNames(db, 'readings')
  t.equal(names.at(-2), pname(far + 7 * DAY), 'partitions exist through today + 7')
  t.notOk(names.includes(pname(BASE)), 'nothing archived was required, expired days dropped')
  await storeReadings(db, [{ labId: 1, recordedAtMs: far + DAY + 5, temperatureMilliC: 1, humidityMilliPct: 1 }])
  const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM readings PARTITION (${sql.raw(pname(far + DAY))})`.execute(db)
  t.equal(Number(rows[0]?.n), 1)
})

t.test('the migration goes down (REMOVE PARTITIONING) and up again without losing a row', async (t) => {
  const { db } = await setup(t)
  const names = Object.keys(migrations).sort()
  const before = names[names.indexOf('2026_11_25_0003_partition_readings') - 1] as string
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  t.notOk((await migrator.migrateTo(before)).error)
  t.same(await partitionNames(db, 'readings'), [null])
  t.same(await rawRows(db), tuples(INPUT))
  t.notOk((await migrator.migrateToLatest()).error)
  // Up again on stored data: days from the oldest stored day (BASE−1) through today + 7.
  t.same(await partitionNames(db, 'readings'), [...Array.from({ length: 9 }, (_, i) => pname(BASE + (i - 1) * DAY)), 'pmax'])
  t.same(await rawRows(db), tuples(INPUT))
})
