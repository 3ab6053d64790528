import { DAY_MS, type RetentionPolicy } from '@labclimate/config'
import type { Resolution } from '../repositories/series.ts'

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
