import { DAY_MS } from '@labclimate/config'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../database.ts'
import { rawDayReader, type LifecycleBackend, type RawUnit } from '../backend.ts'
import { dayKey } from '../retention.ts'

/**
 * The embedded SQLite mode's lifecycle: no partitions, so a raw unit is one UTC day removed with a range
 * DELETE, and "create ahead" has nothing to do. No cross-process lock: the local stack runs from one
 * launcher, and SQLite's own write lock serialises the deletes.
 */
export function sqliteLifecycleBackend (db: Kysely<Database>): LifecycleBackend {
  const dayOf = sql<number>`recorded_at_ms - (recorded_at_ms % ${sql.lit(DAY_MS)})`
  const rawDays = async (beforeMs?: number): Promise<Array<{ day: number, rows: number }>> => {
    const rows = await db.selectFrom('readings')
      .select((eb) => [dayOf.as('day'), eb.fn.countAll<number>().as('rows')])
      .$if(beforeMs !== undefined, (q) => q.where('recorded_at_ms', '<', beforeMs as number))
      .groupBy(dayOf).orderBy(dayOf).execute()
    return rows.map((r) => ({ day: Number(r.day), rows: Number(r.rows) }))
  }
  return {
    tryLock: async () => true,
    unlock: async () => {},
    prepareAhead: async () => ({}),
    async expiredRawUnits (cutoffMs) {
      return (await rawDays(cutoffMs)).map(({ day }): RawUnit => ({ name: `day ${dayKey(day)}`, days: [day] }))
    },
    ...rawDayReader(db),
    async dropRawUnit (unit) {
      for (const day of unit.days) {
        await db.deleteFrom('readings').where('recorded_at_ms', '>=', day).where('recorded_at_ms', '<', day + DAY_MS).execute()
      }
    },
    async expireMinuteRollups (cutoffMs) {
      const result = await db.deleteFrom('reading_rollups_minute').where('bucket_start_ms', '<', cutoffMs).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
    async expireHourRollups (cutoffMs) {
      const result = await db.deleteFrom('reading_rollups_hour').where('bucket_start_ms', '<', cutoffMs).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
    async describeRaw () {
      return (await rawDays()).map(({ day, rows }) => `${dayKey(day)}: ${rows} readings`)
    }
  }
}
