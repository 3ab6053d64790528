import { DAY_MS, type RetentionPolicy } from '@labclimate/config'
import { confirmedDayArchive, writeDayArchive, type ArchiveManifest, type ArchiveStore } from './archive.ts'
import type { LifecycleBackend, RawUnit } from './backend.ts'
import { dayKey, dayStart, retainedSince } from './retention.ts'

// The data-lifecycle job, dialect-neutral: it drives a LifecycleBackend (backends/mysql.ts, backends/sqlite.ts).

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
  const report: MaintenanceReport = {
    status: 'locked', created: {}, rawDropped: [], rawRefused: [], manifests: [], minuteExpired: [], hourRowsDeleted: 0, rawBefore: [], rawAfter: []
  }
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
