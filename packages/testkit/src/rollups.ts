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
    count: Number(r.reading_count),
    tSum: Number(r.temperature_sum),
    tMin: r.temperature_min,
    tMax: r.temperature_max,
    hSum: Number(r.humidity_sum),
    hMin: r.humidity_min,
    hMax: r.humidity_max
  }]))
}

/**
 * Every way `stored` differs from `expected`, in both directions (rows missing, rows with nothing behind them,
 * any field off), the first `limit` of them: a short list to assert empty, cheaper to print than a diff of maps.
 */
export function rollupDifferences (stored: ReadonlyMap<string, Bucket>, expected: ReadonlyMap<string, Bucket>, limit = 10): string[] {
  const out: string[] = []
  for (const [key, want] of expected) {
    const got = stored.get(key)
    if (got === undefined) out.push(`${key}: missing`)
    else if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`${key}: stored ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`)
  }
  for (const key of stored.keys()) if (!expected.has(key)) out.push(`${key}: stored, but no reading behind it`)
  return out.length > limit ? [...out.slice(0, limit), `…and ${out.length - limit} more`] : out
}
