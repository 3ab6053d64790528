// The same repositories and migrations on SQLite (the embedded local mode's database), with the same
// expectations as on MariaDB: first write wins, rollups equal a recomputation from the input, exact
// window totals, series, labs and keys. The file survives closing and reopening.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Reading } from '@labclimate/contract'
import t from 'tap'
import { expectedBuckets, storedRollups } from '@labclimate/testkit/rollups'
import {
  connectDatabase, createApiKey, createLab, dialectOf, findActiveKey, findExistingLabIds, HOUR_MS, migrateToLatest,
  MINUTE_MS, readingSeries, revokeApiKey, storeReadings, windowTotals
} from '../src/index.ts'

const DAY_START = Date.UTC(2026, 10, 24, 0, 0, 0)
const day = (labId: number, seed: number): Reading[] => Array.from({ length: 2880 }, (_, i) => ({
  labId,
  recordedAtMs: DAY_START + i * 30_000,
  temperatureMilliC: 18000 + ((i * 7919 + seed * 104729) % 8000),
  humidityMilliPct: 30000 + ((i * 6151 + seed * 3571) % 30000)
}))

t.test('migrations, idempotent batches and exact rollups on SQLite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labclimate-sqlite-store-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const url = `sqlite:${join(dir, 'labclimate.sqlite')}`
  let db = connectDatabase({ url })
  t.equal(dialectOf(db), 'sqlite')
  t.same(await migrateToLatest(db), [
    '2026_11_25_0001_initial_schema',
    '2026_11_25_0002_api_keys',
    '2026_11_25_0003_partition_readings',
    '2026_12_02_0001_lab_rollup_changes'
  ])

  const a = day(1, 3)
  const b = day(2, 5)
  t.same(await storeReadings(db, [...a, ...b.slice(0, 1000)]), { received: 3880, inserted: 3880 }, 'all new: rollups added')
  t.same(await storeReadings(db, [...b]), { received: 2880, inserted: 1880 }, 'some repeats: rollups recomputed')
  t.same(await storeReadings(db, [...a, ...b]), { received: 5760, inserted: 0 }, 'a redelivery inserts nothing')
  t.same(await storedRollups(db, 'reading_rollups_minute'), expectedBuckets([...a, ...b], MINUTE_MS))
  t.same(await storedRollups(db, 'reading_rollups_hour'), expectedBuckets([...a, ...b], HOUR_MS))

  const changed = { ...a[0] as Reading, temperatureMilliC: 99 }
  await storeReadings(db, [changed])
  const raw = await readingSeries(db, { labId: 1, fromMs: DAY_START, toMs: DAY_START + 60_000, resolution: 'raw', limit: 10 })
  t.same(raw.map((p) => p.temperatureSum), [a[0]?.temperatureMilliC, a[1]?.temperatureMilliC], 'the first write wins')

  const window = { startMs: DAY_START + 2 * HOUR_MS + 17 * MINUTE_MS, endMs: DAY_START + 20 * HOUR_MS + 41 * MINUTE_MS }
  const totals = (rs: Reading[]): { labId: number, readingCount: number, temperatureSum: number, humiditySum: number } => {
    const w = rs.filter((r) => r.recordedAtMs >= window.startMs && r.recordedAtMs < window.endMs)
    return {
      labId: rs[0]?.labId ?? 0,
      readingCount: w.length,
      temperatureSum: w.reduce((s, r) => s + r.temperatureMilliC, 0),
      humiditySum: w.reduce((s, r) => s + r.humidityMilliPct, 0)
    }
  }
  t.same(await windowTotals(db, window), [totals(a), totals(b)])
  const hours = await readingSeries(db, { labId: 2, fromMs: DAY_START, toMs: DAY_START + 86_400_000, resolution: 'hour', limit: 100 })
  t.equal(hours.length, 24)
  t.equal(hours.reduce((s, p) => s + p.count, 0), 2880)

  const lab = await createLab(db, { name: 'Cold room', address: 'B2', nowMs: DAY_START })
  await createLab(db, { id: 500, name: 'Old lab', address: 'A1', nowMs: DAY_START })
  t.same([...await findExistingLabIds(db, [lab.id, 500, 777])].sort((x, y) => x - y), [lab.id, 500].sort((x, y) => x - y))
  await t.rejects(createLab(db, { id: 500, name: 'dup', address: '', nowMs: DAY_START }), { name: 'LabExistsError' }, 'a taken id is refused as on MySQL')
  const { key, apiKey } = await createApiKey(db, { role: 'device', labId: 500, label: 'sensor', nowMs: DAY_START })
  t.match(await findActiveKey(db, key), { id: apiKey.id, role: 'device', labId: 500 })
  t.equal(await revokeApiKey(db, apiKey.id, DAY_START), true)
  t.equal(await findActiveKey(db, key), undefined)

  await db.destroy()
  db = connectDatabase({ url })
  t.teardown(async () => { await db.destroy() })
  const after = await db.selectFrom('readings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(after.n), 5760, 'readings survive a restart')
  t.same(await migrateToLatest(db), [], 'and the schema is up to date')
})
