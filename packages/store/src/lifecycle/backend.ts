import { DAY_MS } from '@labclimate/config'
import type { Kysely } from 'kysely'
import type { Database } from '../database.ts'
import type { RawRow } from './archive.ts'

/** A slice of raw data that is expired as a whole: a partition in MySQL, a day in SQLite. */
export interface RawUnit {
  name: string
  /** start of every UTC day in the unit that holds rows, oldest first */
  days: number[]
}

/** What the maintenance job needs from a database; one implementation per dialect in `backends/`. */
export interface LifecycleBackend {
  /** Takes the job's lock without waiting; false if another run holds it. Released when the session ends. */
  tryLock: () => Promise<boolean>
  unlock: () => Promise<void>
  /** Makes room for rows before `untilMs`; returns what it created per table. */
  prepareAhead: (untilMs: number) => Promise<Record<string, string[]>>
  /** Raw units whose every row is older than `cutoffMs`, oldest first. */
  expiredRawUnits: (cutoffMs: number) => Promise<RawUnit[]>
  /** One day's raw rows ordered by (lab_id, recorded_at_ms). */
  rawDayRows: (dayStartMs: number) => AsyncIterable<RawRow>
  rawDayCount: (dayStartMs: number) => Promise<number>
  dropRawUnit: (unit: RawUnit) => Promise<void>
  /** Removes minute rollups older than `cutoffMs`; returns what went (partition names or a row count). */
  expireMinuteRollups: (cutoffMs: number) => Promise<string[] | number>
  expireHourRollups: (cutoffMs: number) => Promise<number>
  /** For reports: the raw layout (partition list in MySQL). */
  describeRaw: () => Promise<string[]>
}

/** Reading one raw day is the same query in both dialects (a range on the primary key's time column). */
export function rawDayReader (db: Kysely<Database>): Pick<LifecycleBackend, 'rawDayRows' | 'rawDayCount'> {
  return {
    rawDayRows (dayStartMs) {
      return db.selectFrom('readings')
        .select(['lab_id', 'recorded_at_ms', 'temperature_milli_c', 'humidity_milli_pct'])
        .where('recorded_at_ms', '>=', dayStartMs)
        .where('recorded_at_ms', '<', dayStartMs + DAY_MS)
        .orderBy('lab_id').orderBy('recorded_at_ms')
        .stream(10_000)
    },
    async rawDayCount (dayStartMs) {
      const row = await db.selectFrom('readings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('recorded_at_ms', '>=', dayStartMs)
        .where('recorded_at_ms', '<', dayStartMs + DAY_MS)
        .executeTakeFirstOrThrow()
      return Number(row.n)
    }
  }
}
