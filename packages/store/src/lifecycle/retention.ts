import type { Resolution } from '../repositories/series.ts'

export const DAY_MS = 86_400_000

/** How long each resolution is kept, in whole UTC days before the current one. */
export interface RetentionPolicy {
  rawDays: number
  minuteDays: number
  hourDays: number
}

export const DEFAULT_RETENTION: RetentionPolicy = { rawDays: 35, minuteDays: 400, hourDays: 3650 }

/** Start (00:00 UTC) of the day holding `ms`. */
export const dayStart = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS

/** 2026-11-25 */
export const dayKey = (ms: number): string => new Date(dayStart(ms)).toISOString().slice(0, 10)

/**
 * The oldest instant each resolution is guaranteed to still hold: data of a
 * day is expired once the whole day lies before `start of today − N days`.
 * (Until the job runs, a little more may be there; never less.)
 */
export function retainedSince (policy: RetentionPolicy, nowMs: number): Record<Resolution, number> {
  const today = dayStart(nowMs)
  return {
    raw: today - policy.rawDays * DAY_MS,
    minute: today - policy.minuteDays * DAY_MS,
    hour: today - policy.hourDays * DAY_MS
  }
}

const FINEST_FIRST: readonly Resolution[] = ['raw', 'minute', 'hour']

/**
 * The finest resolution, no finer than `requested`, whose retained data covers
 * a range starting at `fromMs`. A range reaching before every retention answers
 * `hour` (the coarsest): what is left of it is what there is.
 */
export function finestRetainedResolution (policy: RetentionPolicy, query: { fromMs: number, nowMs: number, requested?: Resolution }): Resolution {
  const since = retainedSince(policy, query.nowMs)
  const start = FINEST_FIRST.indexOf(query.requested ?? 'raw')
  for (const resolution of FINEST_FIRST.slice(start)) {
    if (query.fromMs >= since[resolution]) return resolution
  }
  return 'hour'
}

/** Problems with a policy (coarser data must outlive finer data, or a range could have no answer at all). */
export function retentionProblems (policy: RetentionPolicy): string[] {
  const problems: string[] = []
  if (policy.minuteDays < policy.rawDays) problems.push('minute rollups must be kept at least as long as raw readings')
  if (policy.hourDays < policy.minuteDays) problems.push('hour rollups must be kept at least as long as minute rollups')
  return problems
}
