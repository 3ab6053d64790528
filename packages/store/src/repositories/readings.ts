import type { Reading } from '@labclimate/contract'
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool, type Transaction } from 'kysely'
import type { Database, RollupTableName } from '../database.ts'
import { retryOnLockConflict } from '../errors.ts'

export const MINUTE_MS = 60_000
export const HOUR_MS = 3_600_000

/** Rows per multi-row INSERT: large enough to amortise round trips, small enough for any max_allowed_packet. */
const INSERT_CHUNK = 2_000
/** Range conditions per rollup statement. */
const RANGE_CHUNK = 500
/** Touched buckets closer than this are recomputed as one range (cheaper than many tiny ones). */
const RANGE_MERGE_GAP_MS = HOUR_MS

export interface StoreResult {
  /** readings handed in (after dropping exact repeats within the batch) */
  received: number
  /** rows that were new; the rest were already stored */
  inserted: number
}

export interface LabRange {
  labId: number
  fromMs: number
  toMs: number
}

/**
 * Half-open [from, to) ranges per lab that cover every bucket touched by `readings`
 * (sorted by lab, then time). Nearby buckets merge into one range.
 */
export function touchedRanges (readings: readonly Reading[], bucketMs: number): LabRange[] {
  const ranges: LabRange[] = []
  let current: LabRange | undefined
  for (const r of readings) {
    const bucket = r.recordedAtMs - (r.recordedAtMs % bucketMs)
    if (current !== undefined && current.labId === r.labId && bucket <= current.toMs + RANGE_MERGE_GAP_MS) {
      current.toMs = Math.max(current.toMs, bucket + bucketMs)
    } else {
      current = { labId: r.labId, fromMs: bucket, toMs: bucket + bucketMs }
      ranges.push(current)
    }
  }
  return ranges
}

/** Widens ranges to whole buckets of `bucketMs`. */
function widen (ranges: readonly LabRange[], bucketMs: number): LabRange[] {
  return ranges.map((r) => ({
    labId: r.labId,
    fromMs: r.fromMs - (r.fromMs % bucketMs),
    toMs: Math.ceil(r.toMs / bucketMs) * bucketMs
  }))
}

function compareReadings (a: Reading, b: Reading): number {
  return a.labId - b.labId || a.recordedAtMs - b.recordedAtMs
}

/** Sorted by (lab, time) with repeats of the same (lab, time) removed; the first one wins. */
export function sortAndDedupe (readings: readonly Reading[]): Reading[] {
  const sorted = readings.slice().sort(compareReadings)
  const out: Reading[] = []
  for (const r of sorted) {
    const last = out[out.length - 1]
    if (last === undefined || last.labId !== r.labId || last.recordedAtMs !== r.recordedAtMs) out.push(r)
  }
  return out
}

function inRanges<DB, TB extends keyof DB> (column: 'recorded_at_ms' | 'bucket_start_ms', ranges: readonly LabRange[]) {
  return (eb: ExpressionBuilder<DB, TB>): Expression<SqlBool> => {
    const ref = eb.ref as unknown as (c: string) => Expression<number>
    return eb.or(ranges.map((r) => eb.and([
      eb(ref('lab_id'), '=', r.labId),
      eb(ref(column), '>=', r.fromMs),
      eb(ref(column), '<', r.toMs)
    ])))
  }
}

const ROLLUP_COLUMNS = [
  'lab_id', 'bucket_start_ms', 'reading_count',
  'temperature_sum', 'temperature_min', 'temperature_max',
  'humidity_sum', 'humidity_min', 'humidity_max'
] as const

/**
 * Replaces the minute rollups in `ranges` by a recomputation from raw readings.
 * Recomputing (rather than adding deltas) is what makes a redelivered message
 * unable to double-count: the rollup is a function of the rows, whatever the history.
 */
async function recomputeMinuteRollups (trx: Transaction<Database>, ranges: readonly LabRange[]): Promise<void> {
  const bucket = sql<number>`recorded_at_ms - (recorded_at_ms % ${sql.lit(MINUTE_MS)})`
  const select = trx.selectFrom('readings')
    .select((eb) => [
      'lab_id',
      bucket.as('bucket_start_ms'),
      eb.fn.countAll<number>().as('reading_count'),
      eb.fn.sum<number>('temperature_milli_c').as('temperature_sum'),
      eb.fn.min('temperature_milli_c').as('temperature_min'),
      eb.fn.max('temperature_milli_c').as('temperature_max'),
      eb.fn.sum<number>('humidity_milli_pct').as('humidity_sum'),
      eb.fn.min('humidity_milli_pct').as('humidity_min'),
      eb.fn.max('humidity_milli_pct').as('humidity_max')
    ])
    .where(inRanges<Database, 'readings'>('recorded_at_ms', ranges))
    .groupBy(['lab_id', bucket])
  await upsertRollups(trx, 'reading_rollups_minute', select)
}

/** Replaces the hour rollups in `ranges` (whole hours) by a recomputation from minute rollups. */
async function recomputeHourRollups (trx: Transaction<Database>, ranges: readonly LabRange[]): Promise<void> {
  const bucket = sql<number>`bucket_start_ms - (bucket_start_ms % ${sql.lit(HOUR_MS)})`
  const select = trx.selectFrom('reading_rollups_minute')
    .select((eb) => [
      'lab_id',
      bucket.as('bucket_start_ms'),
      eb.fn.sum<number>('reading_count').as('reading_count'),
      eb.fn.sum<number>('temperature_sum').as('temperature_sum'),
      eb.fn.min('temperature_min').as('temperature_min'),
      eb.fn.max('temperature_max').as('temperature_max'),
      eb.fn.sum<number>('humidity_sum').as('humidity_sum'),
      eb.fn.min('humidity_min').as('humidity_min'),
      eb.fn.max('humidity_max').as('humidity_max')
    ])
    .where(inRanges<Database, 'reading_rollups_minute'>('bucket_start_ms', ranges))
    .groupBy(['lab_id', bucket])
  await upsertRollups(trx, 'reading_rollups_hour', select)
}

async function upsertRollups (trx: Transaction<Database>, table: RollupTableName, select: Parameters<ReturnType<Transaction<Database>['insertInto']>['expression']>[0]): Promise<void> {
  // `c = VALUES(c)` rather than MySQL 8's `AS new` alias: MariaDB and Aurora MySQL 3 both accept it.
  const values = Object.fromEntries(ROLLUP_COLUMNS.slice(2).map((c) => [c, sql`VALUES(${sql.ref(c)})`]))
  await trx.insertInto(table)
    .columns(ROLLUP_COLUMNS)
    .expression(select)
    .onDuplicateKeyUpdate(values)
    .execute()
}

function chunks<T> (items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * Stores readings and their rollups in one transaction. Idempotent: a reading
 * whose (lab, time) is already stored changes nothing (the first write wins),
 * and rollups are recomputed from stored rows, so running this twice with the
 * same input leaves the database exactly as running it once.
 */
export async function storeReadings (db: Kysely<Database>, readings: readonly Reading[]): Promise<StoreResult> {
  const rows = sortAndDedupe(readings)
  if (rows.length === 0) return { received: 0, inserted: 0 }
  const minuteRanges = touchedRanges(rows, MINUTE_MS)
  const hourRanges = widen(minuteRanges, HOUR_MS)
  return await retryOnLockConflict(async () => await db.transaction().execute(async (trx) => {
    let inserted = 0
    for (const chunk of chunks(rows, INSERT_CHUNK)) {
      const result = await trx.insertInto('readings')
        .values(chunk.map((r) => ({
          lab_id: r.labId,
          recorded_at_ms: r.recordedAtMs,
          temperature_milli_c: r.temperatureMilliC,
          humidity_milli_pct: r.humidityMilliPct
        })))
        // A no-op update: the stored reading stays as first written, and affectedRows counts only new rows.
        .onDuplicateKeyUpdate({ lab_id: sql.ref('lab_id') })
        .executeTakeFirst()
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0n)
    }
    for (const part of chunks(minuteRanges, RANGE_CHUNK)) await recomputeMinuteRollups(trx, part)
    for (const part of chunks(hourRanges, RANGE_CHUNK)) await recomputeHourRollups(trx, part)
    return { received: rows.length, inserted }
  }))
}
