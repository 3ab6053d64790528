import { sql, type Kysely } from 'kysely'
import type { Database } from '../database.ts'
import { confirmedDayArchive, writeDayArchive, type ArchiveManifest, type ArchiveStore, type RawRow } from './archive.ts'
import { createPartitionsAhead, dropPartition, listPartitions, partitionsBefore, type PartitionInfo } from './partitions.ts'
import { DAY_MS, dayKey, dayStart, retainedSince, type RetentionPolicy } from './retention.ts'

/*
 * The data-lifecycle job, written against a small backend interface so that the
 * same job (and the same configuration) drives MySQL, where a raw unit is a daily
 * partition dropped with DROP PARTITION, and the embedded SQLite mode (a later
 * issue), where a unit is one day removed with a range DELETE and "create ahead"
 * has nothing to do.
 */

/** A slice of raw data that is expired as a whole: a partition in MySQL, a day in SQLite. */
export interface RawUnit {
  name: string
  /** start of every UTC day in the unit that holds rows, oldest first */
  days: number[]
}

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

export interface MaintenanceOptions {
  retention: RetentionPolicy
  /** days of partitions kept ready after today */
  aheadDays: number
  /** where raw days go before they are dropped; undefined = no archive */
  archive?: ArchiveStore
  /** without an archive, refuse to drop raw days (true) or drop them unarchived (false) */
  archiveRequired: boolean
  nowMs: number
  log?: (event: string, data: Record<string, unknown>) => void
  /** test seam: runs after a unit's days are archived and confirmed, before it is dropped */
  beforeDrop?: (unit: RawUnit) => Promise<void>
}

export interface MaintenanceReport {
  status: 'done' | 'locked'
  created: Record<string, string[]>
  rawDropped: Array<{ unit: string, days: string[] }>
  rawRefused: Array<{ unit: string, reason: string }>
  manifests: ArchiveManifest[]
  minuteExpired: string[] | number
  hourRowsDeleted: number
  rawBefore: string[]
  rawAfter: string[]
}

/** One maintenance run: create ahead, archive then drop expired raw days, expire rollups. Safe to run twice at once and to re-run after a crash. */
export async function runMaintenance (backend: LifecycleBackend, options: MaintenanceOptions): Promise<MaintenanceReport> {
  const log = options.log ?? (() => {})
  const report: MaintenanceReport = { status: 'locked', created: {}, rawDropped: [], rawRefused: [], manifests: [], minuteExpired: [], hourRowsDeleted: 0, rawBefore: [], rawAfter: [] }
  if (!await backend.tryLock()) {
    log('locked', { message: 'another maintenance run holds the lock; nothing done' })
    return report
  }
  try {
    report.status = 'done'
    report.rawBefore = await backend.describeRaw()
    const today = dayStart(options.nowMs)
    // First, and whatever happens after: ingestion must always find a partition.
    report.created = await backend.prepareAhead(today + (options.aheadDays + 1) * DAY_MS)
    log('prepared', { created: report.created })

    const since = retainedSince(options.retention, options.nowMs)
    for (const unit of await backend.expiredRawUnits(since.raw)) {
      if (options.archive === undefined) {
        if (options.archiveRequired) {
          report.rawRefused.push({ unit: unit.name, reason: 'no archive is configured and ARCHIVE_REQUIRED is true' })
          log('raw.refused', { unit: unit.name })
          continue
        }
      } else {
        for (const day of unit.days) {
          const rows = await backend.rawDayCount(day)
          let manifest = await confirmedDayArchive(options.archive, day, rows)
          if (manifest === undefined) {
            await writeDayArchive(options.archive, day, backend.rawDayRows(day), options.nowMs)
            // Confirm by reading back what was stored, against a fresh count.
            manifest = await confirmedDayArchive(options.archive, day, await backend.rawDayCount(day))
            if (manifest === undefined) throw new Error(`archive of ${dayKey(day)} could not be confirmed; nothing dropped`)
            log('raw.archived', { day: manifest.day, rows: manifest.rows, bytes: manifest.bytes, location: options.archive.location })
          } else {
            log('raw.already-archived', { day: manifest.day, rows: manifest.rows })
          }
          report.manifests.push(manifest)
        }
      }
      await options.beforeDrop?.(unit)
      await backend.dropRawUnit(unit)
      report.rawDropped.push({ unit: unit.name, days: unit.days.map(dayKey) })
      log('raw.dropped', { unit: unit.name, days: unit.days.map(dayKey) })
    }

    report.minuteExpired = await backend.expireMinuteRollups(since.minute)
    report.hourRowsDeleted = await backend.expireHourRollups(since.hour)
    log('rollups.expired', { minute: report.minuteExpired, hourRows: report.hourRowsDeleted })
    report.rawAfter = await backend.describeRaw()
    return report
  } finally {
    await backend.unlock()
  }
}

const HOUR_DELETE_BATCH = 10_000

function partitionLabel (p: PartitionInfo): string {
  const bound = p.lessThanMs === undefined ? 'MAXVALUE' : `${p.lessThanMs} (${new Date(p.lessThanMs).toISOString()})`
  return `${p.name} < ${bound}`
}

/** The MySQL/MariaDB backend, bound to one connection (the lock and the session settings live on it). */
export function mysqlLifecycleBackend (conn: Kysely<Database>): LifecycleBackend {
  const lockName = sql`CONCAT('labclimate.maintenance:', DATABASE())`
  const rawPartition = async (name: string): Promise<{ oldest: number | undefined, newest: number | undefined }> => {
    const { rows } = await sql<{ oldest: number | null, newest: number | null }>`SELECT MIN(recorded_at_ms) AS oldest, MAX(recorded_at_ms) AS newest FROM readings PARTITION (${sql.raw(name)})`.execute(conn)
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
    rawDayRows (dayStartMs) {
      return conn.selectFrom('readings')
        .select(['lab_id', 'recorded_at_ms', 'temperature_milli_c', 'humidity_milli_pct'])
        .where('recorded_at_ms', '>=', dayStartMs)
        .where('recorded_at_ms', '<', dayStartMs + DAY_MS)
        .orderBy('lab_id').orderBy('recorded_at_ms')
        .stream(10_000)
    },
    async rawDayCount (dayStartMs) {
      const row = await conn.selectFrom('readings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('recorded_at_ms', '>=', dayStartMs)
        .where('recorded_at_ms', '<', dayStartMs + DAY_MS)
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },
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
