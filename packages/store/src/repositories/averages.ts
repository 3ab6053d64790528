import type { Kysely } from 'kysely'
import type { Database } from '../database.ts'
import { HOUR_MS, MINUTE_MS } from './readings.ts'

/** A half-open time window [startMs, endMs) whose ends fall on whole minutes. */
export interface TimeWindow {
  startMs: number
  endMs: number
}

export interface WindowTotals {
  labId: number
  readingCount: number
  /** m°C */
  temperatureSum: number
  /** m%RH */
  humiditySum: number
}

export interface WindowParts {
  /** whole hours answered from hour rollups, or undefined */
  hours: TimeWindow | undefined
  /** the edges that are not whole hours, answered from minute rollups */
  minutes: TimeWindow[]
}

/**
 * Splits a minute-aligned window so that whole hours come from hour rollups and
 * only the edges from minute rollups: a 24 h window reads at most 24 + 118 rollup
 * rows per lab, however many raw readings it holds.
 */
export function splitWindow ({ startMs, endMs }: TimeWindow): WindowParts {
  if (startMs % MINUTE_MS !== 0 || endMs % MINUTE_MS !== 0) throw new RangeError('window ends must fall on whole minutes')
  const firstHour = Math.ceil(startMs / HOUR_MS) * HOUR_MS
  const lastHour = Math.floor(endMs / HOUR_MS) * HOUR_MS
  if (firstHour >= lastHour) return { hours: undefined, minutes: startMs < endMs ? [{ startMs, endMs }] : [] }
  const minutes: TimeWindow[] = []
  if (startMs < firstHour) minutes.push({ startMs, endMs: firstHour })
  if (lastHour < endMs) minutes.push({ startMs: lastHour, endMs })
  return { hours: { startMs: firstHour, endMs: lastHour }, minutes }
}

/**
 * Exact sums and counts per lab over the window, for every lab with readings in it
 * (or only `labId`). Ordered by lab id.
 */
export async function windowTotals (db: Kysely<Database>, window: TimeWindow, labId?: number): Promise<WindowTotals[]> {
  const { hours, minutes } = splitWindow(window)
  const parts = []
  if (hours !== undefined) {
    parts.push(db.selectFrom('reading_rollups_hour')
      .select(['lab_id', 'reading_count', 'temperature_sum', 'humidity_sum'])
      .where('bucket_start_ms', '>=', hours.startMs)
      .where('bucket_start_ms', '<', hours.endMs)
      .$if(labId !== undefined, (q) => q.where('lab_id', '=', labId as number)))
  }
  for (const edge of minutes) {
    parts.push(db.selectFrom('reading_rollups_minute')
      .select(['lab_id', 'reading_count', 'temperature_sum', 'humidity_sum'])
      .where('bucket_start_ms', '>=', edge.startMs)
      .where('bucket_start_ms', '<', edge.endMs)
      .$if(labId !== undefined, (q) => q.where('lab_id', '=', labId as number)))
  }
  const [first, ...rest] = parts
  if (first === undefined) return []
  const union = rest.reduce((acc, part) => acc.unionAll(part), first)
  const rows = await db.selectFrom(union.as('w'))
    .select((eb) => [
      'w.lab_id',
      eb.fn.sum<number>('w.reading_count').as('reading_count'),
      eb.fn.sum<number>('w.temperature_sum').as('temperature_sum'),
      eb.fn.sum<number>('w.humidity_sum').as('humidity_sum')
    ])
    .groupBy('w.lab_id')
    .orderBy('w.lab_id')
    .execute()
  return rows.map((r) => ({
    labId: Number(r.lab_id),
    readingCount: Number(r.reading_count),
    temperatureSum: Number(r.temperature_sum),
    humiditySum: Number(r.humidity_sum)
  }))
}
