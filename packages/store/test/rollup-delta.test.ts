// Rollups kept by adding a batch's own sums (every reading new) must equal rollups recomputed from the stored
// raw rows, whatever mix of new batches, overlapping batches and repeats arrives.
import { sql } from 'kysely'
import t from 'tap'
import type { Reading } from '@labclimate/contract'
import { storeReadings } from '../src/index.ts'
import { createTestDatabase } from '@labclimate/testkit/mysql'

const DAY = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000

t.test('added rollups equal recomputed rollups after new, overlapping and repeated batches', async (t) => {
  const { db } = await createTestDatabase(t)
  let seed = 7
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  const reading = (labId: number, i: number): Reading => ({
    labId,
    recordedAtMs: DAY + i * 7_000,
    temperatureMilliC: -5000 + rand(40_000),
    humidityMilliPct: rand(100_001)
  })
  const all: Reading[] = []
  for (let round = 0; round < 12; round++) {
    const batch: Reading[] = []
    for (let k = 0; k < 300; k++) {
      const labId = 1 + rand(3)
      // New rounds interleave with earlier ones (same minutes, other seconds): every reading new, sums added to
      // existing rollup rows. Every third round mixes repeats in: recomputed from stored rows.
      const repeat = round % 3 === 2 && k % 2 === 0
      const r = repeat ? all[rand(all.length)] as Reading : reading(labId, k * 12 + round)
      batch.push(r)
    }
    await storeReadings(db, batch)
    all.push(...batch)
  }
  const cols = 'lab_id, bucket_start_ms, reading_count, temperature_sum, temperature_min, temperature_max, humidity_sum, humidity_min, humidity_max'
  const stored = async (table: string): Promise<unknown[]> => (await sql.raw(`SELECT ${cols} FROM ${table} ORDER BY lab_id, bucket_start_ms`).execute(db)).rows
  const minuteExpected = (await sql.raw(`SELECT lab_id, recorded_at_ms - recorded_at_ms % 60000 AS bucket_start_ms, COUNT(*) AS reading_count,
    SUM(temperature_milli_c) AS temperature_sum, MIN(temperature_milli_c) AS temperature_min, MAX(temperature_milli_c) AS temperature_max,
    SUM(humidity_milli_pct) AS humidity_sum, MIN(humidity_milli_pct) AS humidity_min, MAX(humidity_milli_pct) AS humidity_max
    FROM readings GROUP BY lab_id, bucket_start_ms ORDER BY lab_id, bucket_start_ms`).execute(db)).rows
  const hourExpected = (await sql.raw(`SELECT lab_id, recorded_at_ms - recorded_at_ms % 3600000 AS bucket_start_ms, COUNT(*) AS reading_count,
    SUM(temperature_milli_c) AS temperature_sum, MIN(temperature_milli_c) AS temperature_min, MAX(temperature_milli_c) AS temperature_max,
    SUM(humidity_milli_pct) AS humidity_sum, MIN(humidity_milli_pct) AS humidity_min, MAX(humidity_milli_pct) AS humidity_max
    FROM readings GROUP BY lab_id, bucket_start_ms ORDER BY lab_id, bucket_start_ms`).execute(db)).rows
  const norm = (rows: unknown[]): string => JSON.stringify(rows.map((r) => Object.values(r as Record<string, unknown>).map(Number)))
  t.ok(minuteExpected.length > 100, `${minuteExpected.length} minute buckets`)
  t.equal(norm(await stored('reading_rollups_minute')), norm(minuteExpected), 'minute rollups = recomputed from raw')
  t.equal(norm(await stored('reading_rollups_hour')), norm(hourExpected), 'hour rollups = recomputed from raw')
})
