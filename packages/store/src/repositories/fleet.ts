import type { Kysely } from 'kysely'
import type { Database } from '../database.ts'

/** How many labs have readings in hours starting at or after `sinceMs` (from hour rollups: cheap at fleet scale). */
export async function countLabsReporting (db: Kysely<Database>, sinceMs: number): Promise<number> {
  const row = await db.selectFrom('reading_rollups_hour')
    .select((eb) => eb.fn.count<number>('lab_id').distinct().as('labs'))
    .where('bucket_start_ms', '>=', sinceMs)
    .executeTakeFirstOrThrow()
  return Number(row.labs)
}
