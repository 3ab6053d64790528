import { DAY_MS } from '@labclimate/config'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../database.ts'
import { rawDayReader, type LifecycleBackend, type RawUnit } from '../backend.ts'
import { createPartitionsAhead, dropPartition, listPartitions, partitionsBefore, type PartitionInfo } from '../partitions.ts'
import { dayStart } from '../retention.ts'

const HOUR_DELETE_BATCH = 10_000

interface PartitionSpanRow { oldest: number | null, newest: number | null }

function partitionLabel (p: PartitionInfo): string {
  const bound = p.lessThanMs === undefined ? 'MAXVALUE' : `${p.lessThanMs} (${new Date(p.lessThanMs).toISOString()})`
  return `${p.name} < ${bound}`
}

/** The MySQL/MariaDB backend, bound to one connection (the lock and the session settings live on it). */
export function mysqlLifecycleBackend (conn: Kysely<Database>): LifecycleBackend {
  const lockName = sql`CONCAT('labclimate.maintenance:', DATABASE())`
  const rawPartition = async (name: string): Promise<{ oldest: number | undefined, newest: number | undefined }> => {
    const { rows } = await sql<PartitionSpanRow>`SELECT MIN(recorded_at_ms) AS oldest, MAX(recorded_at_ms) AS newest FROM readings PARTITION (${sql.raw(name)})`
      .execute(conn)
    const r = rows[0]
    return { oldest: r?.oldest == null ? undefined : Number(r.oldest), newest: r?.newest == null ? undefined : Number(r.newest) }
  }
  return {
    async tryLock () {
      // DDL waits for transactions on the table; give up after 30 s rather than queue every insert behind us.
      await sql`SET SESSION lock_wait_timeout = 30`.execute(conn)
      // A day streams out while its archive uploads part by part: let the server wait for a slow part.
      await sql`SET SESSION net_write_timeout = 600`.execute(conn)
      const { rows } = await sql<{ got: number | null }>`SELECT GET_LOCK(${lockName}, 0) AS got`.execute(conn)
      return Number(rows[0]?.got) === 1
    },
    async unlock () {
      await sql`SELECT RELEASE_LOCK(${lockName})`.execute(conn)
    },
    async prepareAhead (untilMs) {
      return {
        readings: await createPartitionsAhead(conn, 'readings', untilMs),
        reading_rollups_minute: await createPartitionsAhead(conn, 'reading_rollups_minute', untilMs)
      }
    },
    async expiredRawUnits (cutoffMs) {
      const units: RawUnit[] = []
      for (const p of partitionsBefore(await listPartitions(conn, 'readings'), cutoffMs)) {
        const { oldest, newest } = await rawPartition(p.name)
        const days: number[] = []
        if (oldest !== undefined && newest !== undefined) {
          for (let day = dayStart(oldest); day <= newest; day += DAY_MS) days.push(day)
        }
        units.push({ name: p.name, days })
      }
      return units
    },
    ...rawDayReader(conn),
    async dropRawUnit (unit) {
      await dropPartition(conn, 'readings', unit.name)
    },
    async expireMinuteRollups (cutoffMs) {
      const expired = partitionsBefore(await listPartitions(conn, 'reading_rollups_minute'), cutoffMs)
      for (const p of expired) await dropPartition(conn, 'reading_rollups_minute', p.name)
      return expired.map((p) => p.name)
    },
    async expireHourRollups (cutoffMs) {
      // ~46 k labs × 24 rows a day: small batches keep each transaction and its undo short.
      let deleted = 0
      for (;;) {
        const result = await conn.deleteFrom('reading_rollups_hour').where('bucket_start_ms', '<', cutoffMs).limit(HOUR_DELETE_BATCH).executeTakeFirst()
        const n = Number(result.numDeletedRows)
        deleted += n
        if (n < HOUR_DELETE_BATCH) return deleted
      }
    },
    async describeRaw () {
      return (await listPartitions(conn, 'readings')).map(partitionLabel)
    }
  }
}

/** Runs `work` with the MySQL backend on one pinned connection of `db`. */
export async function withMysqlLifecycle<T> (db: Kysely<Database>, work: (backend: LifecycleBackend) => Promise<T>): Promise<T> {
  return await db.connection().execute(async (conn) => await work(mysqlLifecycleBackend(conn)))
}
