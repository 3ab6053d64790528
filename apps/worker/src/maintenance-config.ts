import {
  ConfigError, LOG_LEVELS, readDatabaseSecurity, readEnv, readRetention, retentionProblems, type DatabaseSecurity, type Env, type RetentionPolicy
} from '@labclimate/config'
import { DEFAULT_STAGE } from '@labclimate/metrics'
import { assertTimeZone, type CompletenessSettings } from './completeness.ts'

export type ArchiveTarget =
  | { kind: 's3', bucket: string, prefix: string, region: string, endpoint?: string, credentials?: { accessKeyId: string, secretAccessKey: string } }
  | { kind: 'dir', dir: string }

export interface MaintenanceConfig {
  logLevel: typeof LOG_LEVELS[number]
  databaseUrl: string
  databaseSecurity: DatabaseSecurity
  retention: RetentionPolicy
  aheadDays: number
  /** undefined: no archive */
  archive: ArchiveTarget | undefined
  /** without an archive, refuse to drop raw days (the default) */
  archiveRequired: boolean
  /** How last night's upload is judged (docs/operations.md, UploadIncomplete). */
  completeness: CompletenessSettings
  /** Write MaintenanceSucceeded/Failed and the completeness counts to stdout as CloudWatch EMF. */
  metricsEmf: boolean
  /** The Stage dimension of the metrics. */
  stage: string
}

/** Parses and validates the maintenance job's environment; throws ConfigError naming every problem. */
export function loadMaintenanceConfig (env: Env): MaintenanceConfig {
  const read = readEnv(env)
  const retention = readRetention(read)
  const bucket = read.string('ARCHIVE_BUCKET')
  const dir = read.string('ARCHIVE_DIR')
  const endpoint = read.url('S3_ENDPOINT', ['http', 'https'])
  const region = bucket === undefined ? read.string('AWS_REGION') : read.requiredString('AWS_REGION')
  let archive: ArchiveTarget | undefined
  if (bucket !== undefined) {
    archive = {
      kind: 's3',
      bucket,
      prefix: read.string('ARCHIVE_PREFIX', { default: '' }) as string,
      region: region ?? '',
      // A local S3 server checks no signature, but the SDK still signs: give it something.
      ...(endpoint === undefined ? {} : { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
    }
  } else if (dir !== undefined) {
    archive = { kind: 'dir', dir }
  }
  const config: MaintenanceConfig = {
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, { default: 'info' }),
    databaseUrl: read.url('DATABASE_URL', ['mysql', 'sqlite'], { required: true }) ?? '',
    databaseSecurity: readDatabaseSecurity(read),
    retention,
    aheadDays: read.int('PARTITIONS_AHEAD_DAYS', { default: 7, min: 2, max: 60 }),
    archive,
    archiveRequired: read.bool('ARCHIVE_REQUIRED', { default: true }),
    completeness: {
      timeZone: read.string('FLEET_TIME_ZONE', { default: 'UTC' }) as string,
      uploadHour: read.int('UPLOAD_HOUR', { default: 23, min: 0, max: 23 }),
      graceHours: read.int('COMPLETENESS_GRACE_HOURS', { default: 3, min: 1, max: 23 }),
      readingIntervalSeconds: read.int('READING_INTERVAL_SECONDS', { default: 30, min: 1, max: 3600 })
    },
    metricsEmf: read.bool('METRICS_EMF', { default: true }),
    stage: read.string('STAGE', { default: DEFAULT_STAGE }) as string
  }
  const problems = retentionProblems(retention).map((p) => `RETENTION_*_DAYS: ${p}`)
  if (bucket !== undefined && dir !== undefined) problems.push('set ARCHIVE_BUCKET or ARCHIVE_DIR, not both')
  try {
    assertTimeZone(config.completeness.timeZone)
  } catch {
    problems.push(`FLEET_TIME_ZONE must be an IANA time zone such as Europe/Berlin, not ${JSON.stringify(config.completeness.timeZone)}`)
  }
  try {
    read.done()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    problems.unshift(...error.problems)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}
