// Did last night's upload bring every reading? Run by the hourly maintenance job; see docs/operations.md.
//
// Devices upload at a fixed local hour (23:00) the 24 h that end then, so "yesterday" for a lab is the
// window [previous upload hour, upload hour) in the fleet's time zone, not the calendar day: the last
// hour of a calendar day only arrives with the next night's upload. A lab's window is complete when
// every hour of it (every minute, in zones whose offset is not whole hours) holds at least the readings
// its cadence makes (120 per hour, 2 per minute at 30 s). Bucket by bucket, so extra readings in one
// hour cannot hide a gap in another; read from the rollups, whose counts are recomputed from raw rows
// (an hour rollup scan is ~1 M index entries for 40k labs, not the ~115 M raw rows).
import type { Metrics } from '@labclimate/metrics'
import type { Database } from '@labclimate/store'
import type { Kysely } from 'kysely'

const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000
/** Missing ids per log line: keeps each line far below CloudWatch Logs' 256 KB event limit. */
export const MISSING_IDS_PER_LINE = 2_000

export interface CompletenessSettings {
  /** IANA time zone of the fleet (FLEET_TIME_ZONE). */
  timeZone: string
  /** Local hour at which devices upload the past 24 h (UPLOAD_HOUR). */
  uploadHour: number
  /** Hours after the upload hour before a window is judged: the burst must be stored by then. */
  graceHours: number
  readingIntervalSeconds: number
}

export interface UploadWindow { startMs: number, endMs: number }

export interface CompletenessReport extends UploadWindow {
  registered: number
  complete: number
  missing: number[]
  bucket: 'hour' | 'minute'
}

interface LocalTime { year: number, month: number, day: number, hour: number, minute: number, second: number }

function localTime (ms: number, timeZone: string): LocalTime {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric'
  }).formatToParts(ms)
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value)
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') }
}

/** Throws RangeError for a time zone the runtime does not know. */
export function assertTimeZone (timeZone: string): void {
  new Intl.DateTimeFormat('en-US', { timeZone }).format(0)
}

/** The instant at which the wall clock in `timeZone` shows the given local date and hour. */
export function localHourToUtc (year: number, month: number, day: number, hour: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour)
  const offsetAt = (ms: number): number => {
    const l = localTime(ms, timeZone)
    return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second) - Math.floor(ms / 1000) * 1000
  }
  // Two passes settle the offset on either side of a DST change.
  const first = wall - offsetAt(wall)
  return wall - offsetAt(first)
}

/** The newest upload window whose end plus the grace period has passed at `nowMs`. */
export function lastJudgedWindow (nowMs: number, settings: CompletenessSettings): UploadWindow {
  const today = localTime(nowMs, settings.timeZone)
  const endOn = (daysBack: number): number => {
    const d = new Date(Date.UTC(today.year, today.month - 1, today.day - daysBack))
    return localHourToUtc(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), settings.uploadHour, settings.timeZone)
  }
  for (let back = 0; ; back++) {
    const endMs = endOn(back)
    if (endMs + settings.graceHours * HOUR_MS <= nowMs) return { startMs: endOn(back + 1), endMs }
  }
}

/** Counts the labs that existed for the whole window and which of them have every reading of it. */
export async function checkCompleteness (db: Kysely<Database>, window: UploadWindow, readingIntervalSeconds: number): Promise<CompletenessReport> {
  const aligned = window.startMs % HOUR_MS === 0 && window.endMs % HOUR_MS === 0
  const bucketMs = aligned ? HOUR_MS : MINUTE_MS
  const table = aligned ? 'reading_rollups_hour' as const : 'reading_rollups_minute' as const
  const perBucket = Math.floor(bucketMs / (readingIntervalSeconds * 1000))
  const buckets = (window.endMs - window.startMs) / bucketMs

  const labs = await db.selectFrom('labs').select('id').where('created_at_ms', '<=', window.startMs).orderBy('id').execute()
  const full = await db.selectFrom(table)
    .select('lab_id')
    .where('bucket_start_ms', '>=', window.startMs)
    .where('bucket_start_ms', '<', window.endMs)
    .where('reading_count', '>=', perBucket)
    .groupBy('lab_id')
    .having((eb) => eb.fn.countAll(), '=', buckets)
    .execute()
  const completeIds = new Set(full.map((r) => Number(r.lab_id)))
  const registered = labs.map((l) => Number(l.id))
  const missing = registered.filter((id) => !completeIds.has(id))
  return { ...window, registered: registered.length, complete: registered.length - missing.length, missing, bucket: aligned ? 'hour' : 'minute' }
}

export interface CompletenessLog {
  info: (data: object, message: string) => void
  warn: (data: object, message: string) => void
}

/**
 * Judges the last upload window, emits LabsCompleteLastUpload and LabsRegistered, and logs the ids of
 * the labs that are missing readings (searchable: see docs/operations.md, "UploadIncomplete").
 */
export async function reportCompleteness (
  db: Kysely<Database>,
  settings: CompletenessSettings,
  nowMs: number,
  metrics: Metrics,
  log: CompletenessLog
): Promise<CompletenessReport> {
  const report = await checkCompleteness(db, lastJudgedWindow(nowMs, settings), settings.readingIntervalSeconds)
  metrics.gauge('LabsRegistered', report.registered)
  metrics.gauge('LabsCompleteLastUpload', report.complete)
  const window = { start: new Date(report.startMs).toISOString(), end: new Date(report.endMs).toISOString(), timeZone: settings.timeZone }
  log.info({
    window, registered: report.registered, complete: report.complete, missingCount: report.missing.length, bucket: report.bucket
  }, 'upload completeness')
  const parts = Math.ceil(report.missing.length / MISSING_IDS_PER_LINE)
  for (let part = 0; part < parts; part++) {
    const missingLabIds = report.missing.slice(part * MISSING_IDS_PER_LINE, (part + 1) * MISSING_IDS_PER_LINE)
    log.warn({ window, part: part + 1, parts, missingLabIds }, 'labs with an incomplete upload')
  }
  return report
}
