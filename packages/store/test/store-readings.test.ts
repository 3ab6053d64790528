import type { Reading } from '@labclimate/contract'
import t from 'tap'
import { expectedBuckets, storedRollups } from '@labclimate/testkit/rollups'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { createLab, findExistingLabIds, HOUR_MS, MINUTE_MS, readingSeries, storeReadings, windowTotals } from '../src/index.ts'

const DAY_START = Date.UTC(2026, 10, 24, 0, 0, 0)

// A deterministic pseudo-random day of readings every 30 s for one lab.
function dayOfReadings (labId: number, seed: number): Reading[] {
  let x = seed
  const next = (): number => { x = (x * 1103515245 + 12345) % 2147483648; return x / 2147483648 }
  return Array.from({ length: 2880 }, (_, i) => ({
    labId,
    recordedAtMs: DAY_START + i * 30_000,
    temperatureMilliC: Math.round(18000 + next() * 8000),
    humidityMilliPct: Math.round(30000 + next() * 30000)
  }))
}

t.test('a day batch is stored once, with rollups equal to a recomputation from the input', async (t) => {
  const { db } = await createTestDatabase(t)
  const a = dayOfReadings(1, 7)
  const b = dayOfReadings(2, 11)
  const first = await storeReadings(db, [...a, ...b])
  t.same(first, { received: 5760, inserted: 5760 })
  const rawCount = await db.selectFrom('readings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(rawCount.n), 5760)
  t.same(await storedRollups(db, 'reading_rollups_minute'), expectedBuckets([...a, ...b], MINUTE_MS))
  t.same(await storedRollups(db, 'reading_rollups_hour'), expectedBuckets([...a, ...b], HOUR_MS))

  const again = await storeReadings(db, [...b, ...a])
  t.same(again, { received: 5760, inserted: 0 }, 'a redelivery inserts nothing')
  t.same(await storedRollups(db, 'reading_rollups_hour'), expectedBuckets([...a, ...b], HOUR_MS), 'and counts nothing twice')
})

t.test('the first write of a (lab, time) wins; repeats inside one batch are dropped', async (t) => {
  const { db } = await createTestDatabase(t)
  const at = DAY_START + 5 * MINUTE_MS
  const r = { labId: 3, recordedAtMs: at, temperatureMilliC: 21000, humidityMilliPct: 40000 }
  t.same(await storeReadings(db, [r, { ...r, temperatureMilliC: 99 }]), { received: 1, inserted: 1 })
  t.same(await storeReadings(db, [{ ...r, temperatureMilliC: 25000 }, { ...r, recordedAtMs: at + 30_000 }]), { received: 2, inserted: 1 })
  const series = await readingSeries(db, { labId: 3, fromMs: at, toMs: at + MINUTE_MS, resolution: 'raw', limit: 10 })
  t.same(series.map((p) => p.temperatureSum), [21000, 21000])
  const minute = await readingSeries(db, { labId: 3, fromMs: at, toMs: at + MINUTE_MS, resolution: 'minute', limit: 10 })
  t.same(minute.map((p) => [p.count, p.temperatureSum, p.temperatureMin, p.temperatureMax]), [[2, 42000, 21000, 21000]])
})

t.test('readings spread far apart in one batch update only their own buckets', async (t) => {
  const { db } = await createTestDatabase(t)
  const readings: Reading[] = [0, 3, 50, 51].map((h, i) => ({
    labId: 4,
    recordedAtMs: DAY_START + h * HOUR_MS + i * 1000,
    temperatureMilliC: 20000 + i,
    humidityMilliPct: 50000
  }))
  await storeReadings(db, readings)
  t.same(await storedRollups(db, 'reading_rollups_minute'), expectedBuckets(readings, MINUTE_MS))
  t.same(await storedRollups(db, 'reading_rollups_hour'), expectedBuckets(readings, HOUR_MS))
})

t.test('window totals are exact over a window that does not start on an hour', async (t) => {
  const { db } = await createTestDatabase(t)
  const a = dayOfReadings(1, 3)
  const b = dayOfReadings(2, 5)
  await storeReadings(db, [...a, ...b])
  const window = { startMs: DAY_START + 2 * HOUR_MS + 17 * MINUTE_MS, endMs: DAY_START + 20 * HOUR_MS + 41 * MINUTE_MS }
  const inWindow = (r: Reading): boolean => r.recordedAtMs >= window.startMs && r.recordedAtMs < window.endMs
  const expect = (rs: Reading[]): { labId: number, readingCount: number, temperatureSum: number, humiditySum: number } => {
    const w = rs.filter(inWindow)
    return {
      labId: rs[0]!.labId,
      readingCount: w.length,
      temperatureSum: w.reduce((s, r) => s + r.temperatureMilliC, 0),
      humiditySum: w.reduce((s, r) => s + r.humidityMilliPct, 0)
    }
  }
  t.same(await windowTotals(db, window), [expect(a), expect(b)])
  t.same(await windowTotals(db, window, 2), [expect(b)])
  t.same(await windowTotals(db, { startMs: DAY_START + 30 * HOUR_MS, endMs: DAY_START + 40 * HOUR_MS }), [], 'no readings, no rows')
})

t.test('labs: explicit ids, existence checks', async (t) => {
  const { db } = await createTestDatabase(t)
  const made = await createLab(db, { name: 'Cold room', address: 'B2', nowMs: DAY_START })
  const chosen = await createLab(db, { id: 500, name: 'Old lab', address: 'A1', nowMs: DAY_START })
  t.equal(chosen.id, 500)
  t.same([...await findExistingLabIds(db, [made.id, 500, 777])].sort((x, y) => x - y), [made.id, 500].sort((x, y) => x - y))
  await t.rejects(createLab(db, { id: 500, name: 'dup', address: '', nowMs: DAY_START }), { name: 'LabExistsError' })
})
