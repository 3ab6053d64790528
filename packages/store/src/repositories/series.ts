import type { Kysely } from 'kysely'
import type { Database } from '../database.ts'

export type Resolution = 'raw' | 'minute' | 'hour'

/** One point of a chart: a raw reading (count 1) or a rollup bucket. Values in thousandths. */
export interface SeriesPoint {
  bucketStartMs: number
  count: number
  temperatureSum: number
  temperatureMin: number
  temperatureMax: number
  humiditySum: number
  humidityMin: number
  humidityMax: number
}

/** Points for one lab with bucket start in [fromMs, toMs), oldest first, at most `limit`. */
export async function readingSeries (
  db: Kysely<Database>,
  query: { labId: number, fromMs: number, toMs: number, resolution: Resolution, limit: number }
): Promise<SeriesPoint[]> {
  const { labId, fromMs, toMs, resolution, limit } = query
  if (resolution === 'raw') {
    const rows = await db.selectFrom('readings')
      .select(['recorded_at_ms', 'temperature_milli_c', 'humidity_milli_pct'])
      .where('lab_id', '=', labId)
      .where('recorded_at_ms', '>=', fromMs)
      .where('recorded_at_ms', '<', toMs)
      .orderBy('recorded_at_ms')
      .limit(limit)
      .execute()
    return rows.map((r) => {
      const t = Number(r.temperature_milli_c); const h = Number(r.humidity_milli_pct)
      return {
        bucketStartMs: Number(r.recorded_at_ms),
        count: 1,
        temperatureSum: t,
        temperatureMin: t,
        temperatureMax: t,
        humiditySum: h,
        humidityMin: h,
        humidityMax: h
      }
    })
  }
  const table = resolution === 'minute' ? 'reading_rollups_minute' : 'reading_rollups_hour'
  const rows = await db.selectFrom(table)
    .selectAll()
    .where('lab_id', '=', labId)
    .where('bucket_start_ms', '>=', fromMs)
    .where('bucket_start_ms', '<', toMs)
    .orderBy('bucket_start_ms')
    .limit(limit)
    .execute()
  return rows.map((r) => ({
    bucketStartMs: Number(r.bucket_start_ms),
    count: Number(r.reading_count),
    temperatureSum: Number(r.temperature_sum),
    temperatureMin: Number(r.temperature_min),
    temperatureMax: Number(r.temperature_max),
    humiditySum: Number(r.humidity_sum),
    humidityMin: Number(r.humidity_min),
    humidityMax: Number(r.humidity_max)
  }))
}
