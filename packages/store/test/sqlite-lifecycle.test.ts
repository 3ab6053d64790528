// The embedded SQLite mode expires by range deletes, with the same job and configuration as MySQL:
// raw days past retention are archived, confirmed, then deleted; rollups expire by their own retention.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { Reading } from '@labclimate/contract'
import t from 'tap'
import { DAY_MS } from '@labclimate/config'
import { connectDatabase, LocalArchiveStore, migrateToLatest, runMaintenance, storeReadings, withLifecycle } from '../src/index.ts'

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
const TODAY = Date.UTC(2026, 10, 25)
const DAYS_AGO = [40, 37, 36, 34, 1, 0]
const readingsOf = (daysAgo: number): Reading[] => Array.from({ length: 24 }, (_, h) => ({
  labId: 1, recordedAtMs: TODAY - daysAgo * DAY_MS + h * 1_800_000, temperatureMilliC: 20000 + h, humidityMilliPct: 40000 + daysAgo
}))

t.test('SQLite: archive then delete raw days past retention, expire rollups, twice is a no-op', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labclimate-sqlite-lifecycle-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const db = connectDatabase({ url: `sqlite:${join(dir, 'db.sqlite')}` })
  t.teardown(async () => { await db.destroy() })
  await migrateToLatest(db)
  for (const d of DAYS_AGO) await storeReadings(db, readingsOf(d))
  const archive = new LocalArchiveStore(join(dir, 'archive'))
  const options = { retention: { rawDays: 35, minuteDays: 36, hourDays: 3650 }, aheadDays: 7, archive, archiveRequired: true, nowMs: NOW }

  const report = await withLifecycle(db, async (backend) => await runMaintenance(backend, options))
  t.equal(report.status, 'done')
  t.same(report.rawDropped.map((u) => u.days), [['2026-10-16'], ['2026-10-19'], ['2026-10-20']], 'the three days older than 35 days')
  t.same(report.manifests.map((m) => [m.day, m.rows]), [['2026-10-16', 24], ['2026-10-19', 24], ['2026-10-20', 24]])
  const lines = gunzipSync(readFileSync(join(dir, 'archive', 'readings/year=2026/month=10/day=16/readings-2026-10-16.ndjson.gz'))).toString().trim().split('\n')
  t.equal(lines.length, 24, 'the archive holds the day')

  const rawDays = await db.selectFrom('readings').select('recorded_at_ms').execute()
  const daysAgo = (ms: number): number => (TODAY - (ms - (ms % DAY_MS))) / DAY_MS
  t.same([...new Set(rawDays.map((r) => daysAgo(Number(r.recorded_at_ms))))].sort((a, b) => a - b), [0, 1, 34], 'raw days inside retention stay')
  t.equal(report.minuteExpired, 2 * 24, 'minute rollups of the two days older than 36 days (24 readings a day, one per minute bucket)')
  const hours = await db.selectFrom('reading_rollups_hour').select((eb) => eb.fn.sum<number>('reading_count').as('n')).executeTakeFirstOrThrow()
  t.equal(Number(hours.n), DAYS_AGO.length * 24, 'hour rollups keep every day, including the archived ones')

  const again = await withLifecycle(db, async (backend) => await runMaintenance(backend, options))
  t.same([again.rawDropped, again.minuteExpired, again.hourRowsDeleted], [[], 0, 0], 'a second run changes nothing')
})
