// Rollups as the tests expect them, computed from the input readings alone, and as the database holds them.
import type { Reading } from '@labclimate/contract'
import type { Database } from '@labclimate/store'
import type { Kysely } from 'kysely'

export interface Bucket { count: number, tSum: number, tMin: number, tMax: number, hSum: number, hMin: number, hMax: number }
export type RollupTable = 'reading_rollups_minute' | 'reading_rollups_hour'

/** "lab:bucketStartMs" → sums, counts, minima and maxima of `readings`, never from anything the store returns. */
export function expectedBuckets (readings: readonly Reading[], bucketMs: number): Map<string, Bucket> {
  const out = new Map<string, Bucket>()
  for (const r of readings) {
    const key = `${r.labId}:${Math.floor(r.recordedAtMs / bucketMs) * bucketMs}`
    const e = out.get(key) ?? { count: 0, tSum: 0, tMin: Infinity, tMax: -Infinity, hSum: 0, hMin: Infinity, hMax: -Infinity }
    e.count++; e.tSum += r.temperatureMilliC; e.hSum += r.humidityMilliPct
    e.tMin = Math.min(e.tMin, r.temperatureMilliC); e.tMax = Math.max(e.tMax, r.temperatureMilliC)
    e.hMin = Math.min(e.hMin, r.humidityMilliPct); e.hMax = Math.max(e.hMax, r.humidityMilliPct)
    out.set(key, e)
  }
  return out
}

/** The rollup rows of `table`, keyed like expectedBuckets. */
export async function storedRollups (db: Kysely<Database>, table: RollupTable): Promise<Map<string, Bucket>> {
  const rows = await db.selectFrom(table).selectAll().execute()
  return new Map(rows.map((r) => [`${r.lab_id}:${Number(r.bucket_start_ms)}`, {
    count: Number(r.reading_count), tSum: Number(r.temperature_sum), tMin: r.temperature_min, tMax: r.temperature_max,
    hSum: Number(r.humidity_sum), hMin: r.humidity_min, hMax: r.humidity_max
  }]))
}
