import type { Reading } from '@labclimate/contract'
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool, type Transaction } from 'kysely'
import type { Database, RollupTableName } from '../database.ts'
import { dialectOf } from '../dialect.ts'
import { retryOnLockConflict } from '../errors.ts'

export const MINUTE_MS = 60_000
export const HOUR_MS = 3_600_000

/**
 * Rows per multi-row INSERT: a batch of 10 day uploads (28,800 readings) is 3 statements, not 15; at ~40 bytes a
 * reading row and ~80 a rollup row a statement stays under 1 MB, far below any max_allowed_packet (16 MB+).
 */
const INSERT_CHUNK = 10_000
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

/** How a rollup row takes in the sums of new readings: counts and sums add up, extremes keep the lower or higher. */
const ROLLUP_MERGE: ReadonlyArray<[column: typeof ROLLUP_COLUMNS[number], merge: 'add' | 'min' | 'max']> = [
  ['reading_count', 'add'],
  ['temperature_sum', 'add'], ['temperature_min', 'min'], ['temperature_max', 'max'],
  ['humidity_sum', 'add'], ['humidity_min', 'min'], ['humidity_max', 'max']
]

/** The SET list of that merge, in each dialect's words for the incoming row and for the smaller and larger of two. */
function rollupMergeSet (incoming: (column: string) => string, min: string, max: string): string {
  return ROLLUP_MERGE.map(([c, merge]) =>
    `${c} = ${merge === 'add' ? `${c} + ${incoming(c)}` : `${merge === 'min' ? min : max}(${c}, ${incoming(c)})`}`
  ).join(', ')
}

// Built once: in SQLite's upsert bare names are the stored row and excluded.* the new one, and MIN/MAX of two
// values are scalar; MySQL says VALUES(c), LEAST and GREATEST.
const ADD_TO_ROLLUP = {
  sqlite: sql.raw(`ON CONFLICT (lab_id, bucket_start_ms) DO UPDATE SET ${rollupMergeSet((c) => `excluded.${c}`, 'MIN', 'MAX')}`),
  mysql: sql.raw(`ON DUPLICATE KEY UPDATE ${rollupMergeSet((c) => `VALUES(${c})`, 'LEAST', 'GREATEST')}`)
} as const

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

async function upsertRollups (
  trx: Transaction<Database>,
  table: RollupTableName,
  select: Parameters<ReturnType<Transaction<Database>['insertInto']>['expression']>[0]
): Promise<void> {
  const insert = trx.insertInto(table).columns(ROLLUP_COLUMNS).expression(select)
  if (dialectOf(trx) === 'sqlite') {
    const excluded = Object.fromEntries(ROLLUP_COLUMNS.slice(2).map((c) => [c, sql`excluded.${sql.ref(c)}`]))
    await insert.onConflict((oc) => oc.columns(['lab_id', 'bucket_start_ms']).doUpdateSet(excluded)).execute()
    return
  }
  // `c = VALUES(c)` rather than MySQL 8's `AS new` alias: MariaDB and Aurora MySQL 3 both accept it.
  const values = Object.fromEntries(ROLLUP_COLUMNS.slice(2).map((c) => [c, sql`VALUES(${sql.ref(c)})`]))
  await insert.onDuplicateKeyUpdate(values).execute()
}

/** One rollup row's worth of sums, in thousandths. */
interface BucketTotals {
  labId: number
  bucketStartMs: number
  count: number
  tSum: number
  tMin: number
  tMax: number
  hSum: number
  hMin: number
  hMax: number
}

/** Sums per (lab, bucket) of readings sorted by (lab, time). */
export function bucketTotals (rows: readonly Reading[], bucketMs: number): BucketTotals[] {
  const out: BucketTotals[] = []
  let b: BucketTotals | undefined
  for (const r of rows) {
    const start = r.recordedAtMs - (r.recordedAtMs % bucketMs)
    if (b === undefined || b.labId !== r.labId || b.bucketStartMs !== start) {
      b = {
        labId: r.labId,
        bucketStartMs: start,
        count: 0,
        tSum: 0,
        tMin: r.temperatureMilliC,
        tMax: r.temperatureMilliC,
        hSum: 0,
        hMin: r.humidityMilliPct,
        hMax: r.humidityMilliPct
      }
      out.push(b)
    }
    b.count++
    b.tSum += r.temperatureMilliC; b.hSum += r.humidityMilliPct
    if (r.temperatureMilliC < b.tMin) b.tMin = r.temperatureMilliC
    if (r.temperatureMilliC > b.tMax) b.tMax = r.temperatureMilliC
    if (r.humidityMilliPct < b.hMin) b.hMin = r.humidityMilliPct
    if (r.humidityMilliPct > b.hMax) b.hMax = r.humidityMilliPct
  }
  return out
}

/** Merges sorted finer buckets into coarser ones (minute sums into hour sums). */
function mergeBuckets (fine: readonly BucketTotals[], bucketMs: number): BucketTotals[] {
  const out: BucketTotals[] = []
  let b: BucketTotals | undefined
  for (const f of fine) {
    const start = f.bucketStartMs - (f.bucketStartMs % bucketMs)
    if (b === undefined || b.labId !== f.labId || b.bucketStartMs !== start) {
      b = { ...f, bucketStartMs: start }
      out.push(b)
      continue
    }
    b.count += f.count; b.tSum += f.tSum; b.hSum += f.hSum
    b.tMin = Math.min(b.tMin, f.tMin); b.tMax = Math.max(b.tMax, f.tMax)
    b.hMin = Math.min(b.hMin, f.hMin); b.hMax = Math.max(b.hMax, f.hMax)
  }
  return out
}

/** Adds sums of readings that were just inserted (and so never counted) to the rollup rows. */
async function addToRollups (trx: Transaction<Database>, table: RollupTableName, buckets: readonly BucketTotals[]): Promise<void> {
  // Integer literals built in one pass (a per-row array, check and join was ~9 % of the worker's CPU).
  let values = ''
  for (const b of buckets) {
    const { labId, bucketStartMs, count, tSum, tMin, tMax, hSum, hMin, hMax } = b
    if (!(Number.isSafeInteger(labId) && Number.isSafeInteger(bucketStartMs) && Number.isSafeInteger(count) && Number.isSafeInteger(tSum) &&
      Number.isSafeInteger(tMin) && Number.isSafeInteger(tMax) && Number.isSafeInteger(hSum) && Number.isSafeInteger(hMin) && Number.isSafeInteger(hMax))) {
      throw new TypeError('a rollup value is not a safe integer')
    }
    values += `${values === '' ? '' : ','}(${labId},${bucketStartMs},${count},${tSum},${tMin},${tMax},${hSum},${hMin},${hMax})`
  }
  await sql`INSERT INTO ${sql.table(table)} (${sql.raw(ROLLUP_COLUMNS.join(', '))}) VALUES ${sql.raw(values)} ${ADD_TO_ROLLUP[dialectOf(trx)]}`.execute(trx)
}

/** `(lab,time,t,h),(…)` for a multi-row INSERT; refuses anything but safe integers, so the text cannot carry SQL. */
export function integerTuples (rows: readonly Reading[]): string {
  let out = ''
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as Reading
    if (!Number.isSafeInteger(r.labId) || !Number.isSafeInteger(r.recordedAtMs) ||
      !Number.isSafeInteger(r.temperatureMilliC) || !Number.isSafeInteger(r.humidityMilliPct)) {
      throw new TypeError(`reading ${i} has a value that is not a safe integer`)
    }
    out += `${i === 0 ? '' : ','}(${r.labId},${r.recordedAtMs},${r.temperatureMilliC},${r.humidityMilliPct})`
  }
  return out
}

/**
 * Stamps the labs whose rollups this transaction changed, with the writer's clock read just before commit, so
 * that an incremental reader (the API's all-labs answer) re-reads them. Sorted by lab, like every other write
 * of the batch, so concurrent batches lock in the same order.
 */
async function stampLabChanges (trx: Transaction<Database>, rows: readonly Reading[], nowMs: number): Promise<void> {
  const labs: number[] = []
  for (const r of rows) if (labs[labs.length - 1] !== r.labId) labs.push(r.labId)
  const values = labs.map((lab) => `(${lab},${nowMs})`).join(',')
  if (!Number.isSafeInteger(nowMs)) throw new TypeError('the change stamp is not a safe integer')
  if (dialectOf(trx) === 'sqlite') {
    await sql`INSERT INTO lab_rollup_changes (lab_id, changed_at_ms) VALUES ${sql.raw(values)}
      ON CONFLICT (lab_id) DO UPDATE SET changed_at_ms = MAX(changed_at_ms, excluded.changed_at_ms)`.execute(trx)
    return
  }
  await sql`INSERT INTO lab_rollup_changes (lab_id, changed_at_ms) VALUES ${sql.raw(values)}
    ON DUPLICATE KEY UPDATE changed_at_ms = GREATEST(changed_at_ms, VALUES(changed_at_ms))`.execute(trx)
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
export async function storeReadings (db: Kysely<Database>, readings: readonly Reading[], clock: () => number = Date.now): Promise<StoreResult> {
  const rows = sortAndDedupe(readings)
  if (rows.length === 0) return { received: 0, inserted: 0 }
  const minuteRanges = touchedRanges(rows, MINUTE_MS)
  const hourRanges = widen(minuteRanges, HOUR_MS)
  // First write wins: a repeated (lab, time) is left as stored, and the affected-row count is the new rows only.
  const keepFirst = dialectOf(db) === 'sqlite' ? sql`ON CONFLICT DO NOTHING` : sql`ON DUPLICATE KEY UPDATE lab_id = lab_id`
  return await retryOnLockConflict(async () => await db.transaction().execute(async (trx) => {
    let inserted = 0
    for (const chunk of chunks(rows, INSERT_CHUNK)) {
      // The VALUES list is written out as integer literals (checked by integerTuples): building 8,000
      // bound parameters per statement through the query builder was 40% of the worker's CPU.
      const values = sql.raw(integerTuples(chunk))
      const result = await sql`INSERT INTO readings (lab_id, recorded_at_ms, temperature_milli_c, humidity_milli_pct) VALUES ${values} ${keepFirst}`
        .execute(trx)
      inserted += Number(result.numAffectedRows ?? 0n)
    }
    if (inserted === rows.length) {
      // Every reading was new (the usual case): add this batch's own minute and hour sums to the rollups
      // in the same transaction. Exact, because each of these rows is counted exactly once, here. Reading
      // the rows back to recompute was the largest cost of a batch (after the inserts themselves).
      const minutes = bucketTotals(rows, MINUTE_MS)
      for (const chunk of chunks(minutes, INSERT_CHUNK)) await addToRollups(trx, 'reading_rollups_minute', chunk)
      for (const chunk of chunks(mergeBuckets(minutes, HOUR_MS), INSERT_CHUNK)) await addToRollups(trx, 'reading_rollups_hour', chunk)
    } else {
      // Some were stored before (a redelivery, a repeated upload): recompute from what is stored, so nothing
      // is counted twice.
      for (const part of chunks(minuteRanges, RANGE_CHUNK)) await recomputeMinuteRollups(trx, part)
      for (const part of chunks(hourRanges, RANGE_CHUNK)) await recomputeHourRollups(trx, part)
    }
    // Last, so the stamp is as close to the commit as it can be (readers allow a margin for the gap).
    await stampLabChanges(trx, rows, clock())
    return { received: rows.length, inserted }
  }))
}
