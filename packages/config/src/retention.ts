import type { EnvReader } from './index.ts'

/** One day in milliseconds: the unit of retention, windows and partitions. */
export const DAY_MS = 86_400_000

/** How long each resolution is kept, in whole UTC days before the current one. */
export interface RetentionPolicy {
  rawDays: number
  minuteDays: number
  hourDays: number
}

export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = { rawDays: 35, minuteDays: 400, hourDays: 3650 }

/**
 * The longest a reading can take to reach the database after its day ended: the API takes
 * readings up to 7 days old and SQS keeps a message up to 14 days. A raw day must outlive
 * that, or a late reading would recompute its minute rollup from a raw day no longer there.
 */
export const MIN_RAW_RETENTION_DAYS = 22

/** RETENTION_RAW_DAYS, RETENTION_MINUTE_DAYS, RETENTION_HOUR_DAYS: read alike by the API and the maintenance job. */
export function readRetention (read: EnvReader): RetentionPolicy {
  return {
    rawDays: read.int('RETENTION_RAW_DAYS', { default: DEFAULT_RETENTION.rawDays, min: MIN_RAW_RETENTION_DAYS, max: 3650 }),
    minuteDays: read.int('RETENTION_MINUTE_DAYS', { default: DEFAULT_RETENTION.minuteDays, min: MIN_RAW_RETENTION_DAYS, max: 36500 }),
    hourDays: read.int('RETENTION_HOUR_DAYS', { default: DEFAULT_RETENTION.hourDays, min: MIN_RAW_RETENTION_DAYS, max: 36500 })
  }
}

/** Problems with a policy (coarser data must outlive finer data, or a range could have no answer at all). */
export function retentionProblems (policy: RetentionPolicy): string[] {
  const problems: string[] = []
  if (policy.minuteDays < policy.rawDays) problems.push('minute rollups must be kept at least as long as raw readings')
  if (policy.hourDays < policy.minuteDays) problems.push('hour rollups must be kept at least as long as minute rollups')
  return problems
}
