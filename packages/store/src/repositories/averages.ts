import { sql, type Kysely } from 'kysely'
import { dialectOf } from '../dialect.ts'
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

function windowParts (window: TimeWindow): Array<{ table: 'reading_rollups_hour' | 'reading_rollups_minute', range: TimeWindow }> {
  const { hours, minutes } = splitWindow(window)
  return [
    ...(hours === undefined ? [] : [{ table: 'reading_rollups_hour' as const, range: hours }]),
    ...minutes.map((range) => ({ table: 'reading_rollups_minute' as const, range }))
  ]
}

interface SumRow { lab_id: number | string, reading_count: number | string, temperature_sum: number | string, humidity_sum: number | string }

/** Adds rows of per-lab sums (several rows of one lab add up) into totals ordered by lab id. */
function addUp (results: ReadonlyArray<readonly SumRow[]>): WindowTotals[] {
  const byLab = new Map<number, WindowTotals>()
  for (const rows of results) {
    for (const r of rows) {
      const id = Number(r.lab_id)
      const totals = byLab.get(id)
      if (totals === undefined) {
        byLab.set(id, { labId: id, readingCount: Number(r.reading_count), temperatureSum: Number(r.temperature_sum), humiditySum: Number(r.humidity_sum) })
      } else {
        totals.readingCount += Number(r.reading_count)
        totals.temperatureSum += Number(r.temperature_sum)
        totals.humiditySum += Number(r.humidity_sum)
      }
    }
  }
  return [...byLab.values()].filter((t) => t.readingCount > 0).sort((a, b) => a.labId - b.labId)
}

/**
 * Exact sums and counts per lab over the window, for every lab with readings in it
 * (or only the labs in `labIds`). Ordered by lab id.
 */
export async function windowTotals (db: Kysely<Database>, window: TimeWindow, labIds?: number | readonly number[]): Promise<WindowTotals[]> {
  const parts = windowParts(window)
  if (parts.length === 0) return []
  if (labIds !== undefined) {
    // A few labs: one statement (one round trip), each part read by primary key (lab, bucket).
    const ids = typeof labIds === 'number' ? [labIds] : labIds
    if (ids.length === 0) return []
    if (!ids.every(Number.isSafeInteger)) throw new TypeError('lab ids must be integers')
    const selects = parts.map(({ table, range }) => sql<SumRow>`SELECT lab_id, SUM(reading_count) AS reading_count,
      SUM(temperature_sum) AS temperature_sum, SUM(humidity_sum) AS humidity_sum
      FROM ${sql.table(table)} WHERE lab_id IN (${sql.raw(ids.join(','))})
      AND bucket_start_ms >= ${range.startMs} AND bucket_start_ms < ${range.endMs} GROUP BY lab_id`)
    const { rows } = await sql<SumRow>`${sql.join(selects, sql` UNION ALL `)}`.execute(db)
    return addUp([rows])
  }
  // Every lab: each part is summed per lab on its own (the covering *_window_idx index, one small group per lab)
  // and the parts are added here. One UNION ALL of the parts, grouped afterwards, had the server materialize every
  // rollup row of the window first: at 46,000 labs ~4 M rows, several times slower.
  return addUp(await Promise.all(parts.map(async ({ table, range }) => await minuteOrHourSums(db, table, range))))
}

/** Per-lab sums of one rollup table over [startMs, endMs), every lab (the covering window index). */
async function minuteOrHourSums (db: Kysely<Database>, table: 'reading_rollups_hour' | 'reading_rollups_minute', range: TimeWindow): Promise<SumRow[]> {
  return await db.selectFrom(table)
    .select((eb) => [
      'lab_id',
      eb.fn.sum<number>('reading_count').as('reading_count'),
      eb.fn.sum<number>('temperature_sum').as('temperature_sum'),
      eb.fn.sum<number>('humidity_sum').as('humidity_sum')
    ])
    .where('bucket_start_ms', '>=', range.startMs)
    .where('bucket_start_ms', '<', range.endMs)
    .groupBy('lab_id')
    .execute()
}

/** Every lab's sums over a 24 h window, kept up to date by `refreshRollingTotals`. */
export interface RollingTotals {
  window: TimeWindow
  /** labs with readings in the window */
  byLab: Map<number, WindowTotals>
  /** wall clock (the writers' clock) just before the snapshot these sums reflect */
  checkedAtMs: number
}

export interface RefreshStats {
  /** every lab re-read (the first refresh, or after a gap) */
  full: boolean
  /** labs re-read because their rollups changed */
  changedLabs: number
  /** how far the window moved */
  shiftMs: number
}

/**
 * How long after its change stamp a writer's transaction may still be uncommitted (or a replica behind), plus
 * clock skew between writers and readers: changes are looked for this far before the previous check.
 */
export const CHANGE_MARGIN_MS = 60_000
/** A window that moved further than this since the last refresh is recomputed whole. */
export const MAX_INCREMENTAL_SHIFT_MS = 15 * MINUTE_MS
const LAB_CHUNK = 1_000

/**
 * The next all-labs totals from the previous ones, reading only what changed: the labs whose rollups were
 * written since the last check (re-read whole, by primary key) and, for every other lab, the minutes the window
 * moved by (subtracted at its start, added at its end). At 46,000 labs a full recomputation reads ~1 M hour and
 * up to ~5 M minute rollup entries; this reads two minutes of entries plus the changed labs. All reads run in one
 * consistent snapshot, so a write is either wholly in this refresh or caught by the next one.
 * Without `previous` (or after a long gap) every lab is read.
 */
export async function refreshRollingTotals (
  db: Kysely<Database>,
  previous: RollingTotals | undefined,
  window: TimeWindow,
  checkedAtMs: number
): Promise<{ totals: RollingTotals, stats: RefreshStats }> {
  const shiftMs = previous === undefined ? NaN : window.startMs - previous.window.startMs
  const sameLength = previous !== undefined && window.endMs - window.startMs === previous.window.endMs - previous.window.startMs
  if (previous === undefined || !sameLength || !(shiftMs >= 0 && shiftMs <= MAX_INCREMENTAL_SHIFT_MS)) {
    const all = await windowTotals(db, window)
    return { totals: { window, byLab: new Map(all.map((t) => [t.labId, t])), checkedAtMs }, stats: { full: true, changedLabs: all.length, shiftMs: 0 } }
  }
  const read = async (trx: Kysely<Database>): Promise<{ changed: number[], leaving: SumRow[], entering: SumRow[], reread: WindowTotals[] }> => {
    const changedRows = await trx.selectFrom('lab_rollup_changes').select('lab_id')
      .where('changed_at_ms', '>=', previous.checkedAtMs - CHANGE_MARGIN_MS).execute()
    const changed = changedRows.map((r) => Number(r.lab_id))
    const leaving = shiftMs > 0 ? await minuteOrHourSums(trx, 'reading_rollups_minute', { startMs: previous.window.startMs, endMs: window.startMs }) : []
    const entering = shiftMs > 0 ? await minuteOrHourSums(trx, 'reading_rollups_minute', { startMs: previous.window.endMs, endMs: window.endMs }) : []
    const reread: WindowTotals[] = []
    for (let i = 0; i < changed.length; i += LAB_CHUNK) reread.push(...await windowTotals(trx, window, changed.slice(i, i + LAB_CHUNK)))
    return { changed, leaving, entering, reread }
  }
  // One snapshot for every read (SQLite's transactions are serializable; InnoDB's repeatable read is one snapshot).
  const { changed, leaving, entering, reread } = dialectOf(db) === 'sqlite'
    ? await db.transaction().execute(read)
    : await db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(read)
  // Applied only once every read succeeded, so a failed refresh leaves the previous totals whole.
  const byLab = previous.byLab
  const changedSet = new Set(changed)
  const add = (rows: readonly SumRow[], sign: 1 | -1): void => {
    for (const r of rows) {
      const id = Number(r.lab_id)
      if (changedSet.has(id)) continue
      const t = byLab.get(id) ?? { labId: id, readingCount: 0, temperatureSum: 0, humiditySum: 0 }
      t.readingCount += sign * Number(r.reading_count)
      t.temperatureSum += sign * Number(r.temperature_sum)
      t.humiditySum += sign * Number(r.humidity_sum)
      if (t.readingCount <= 0) byLab.delete(id)
      else byLab.set(id, t)
    }
  }
  add(leaving, -1)
  add(entering, 1)
  for (const id of changed) byLab.delete(id)
  for (const t of reread) byLab.set(t.labId, t)
  return { totals: { window, byLab, checkedAtMs }, stats: { full: false, changedLabs: changed.length, shiftMs } }
}
