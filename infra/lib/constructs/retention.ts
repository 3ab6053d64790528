// The retention both the API and the maintenance task must read alike: the API answers a series from the
// finest resolution still kept, so an API that assumed longer raw retention than maintenance keeps would
// return empty days instead of falling back to rollups (infra/test/service.test.ts compares the two).
import { MIN_RAW_RETENTION_DAYS, type RetentionPolicy } from '@labclimate/config'

/** RETENTION_RAW_DAYS, RETENTION_MINUTE_DAYS, RETENTION_HOUR_DAYS, as readRetention() in @labclimate/config reads them. */
export function retentionEnv (retention: RetentionPolicy): Record<string, string> {
  // The apps refuse less at start-up; synth refuses it first, so a bad value never reaches a deploy.
  if (retention.rawDays < MIN_RAW_RETENTION_DAYS) throw new Error(`archive.rawDays ${retention.rawDays} is below the minimum of ${MIN_RAW_RETENTION_DAYS} days`)
  return {
    RETENTION_RAW_DAYS: String(retention.rawDays),
    RETENTION_MINUTE_DAYS: String(retention.minuteDays),
    RETENTION_HOUR_DAYS: String(retention.hourDays)
  }
}
