import { DEFAULT_STAGE } from '@labclimate/metrics'
import { LOG_LEVELS, readDatabaseSecurity, readEnv, readSqsSettings, type DatabaseSecurity, type Env, type SqsSettings } from '@labclimate/config'

export interface WorkerConfig {
  logLevel: typeof LOG_LEVELS[number]
  databaseUrl: string
  /** IAM auth and TLS (DATABASE_IAM_AUTH, DATABASE_TLS); none when absent. */
  databaseSecurity?: DatabaseSecurity
  dbPoolSize: number
  sqs: SqsSettings
  /** Consumers polling in parallel in this process; each stores one batch at a time. */
  consumers: number
  /** Messages per receive (1-10). */
  batchSize: number
  visibilityTimeoutSeconds: number
  waitTimeSeconds: number
  migrateOnStart: boolean
  /** Write business metrics to stdout as CloudWatch Embedded Metric Format. */
  metricsEmf: boolean
  /** The Stage dimension of every business metric (STAGE; infra sets the stage name). */
  stage?: string
  /** How often LabsReporting24h is counted (default 5 min). */
  fleetReportSeconds?: number
  /** A file touched every few seconds while the event loop turns; the image's HEALTHCHECK reads its age. */
  livenessFile?: string | undefined
}

/** Parses and validates the worker's environment; throws ConfigError naming every problem. */
export function loadWorkerConfig (env: Env): WorkerConfig {
  const read = readEnv(env)
  const consumers = read.int('WORKER_CONSUMERS', { default: 2, min: 1, max: 32 })
  const config: WorkerConfig = {
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, { default: 'info' }),
    databaseUrl: read.url('DATABASE_URL', ['mysql', 'sqlite'], { required: true }) ?? '',
    databaseSecurity: readDatabaseSecurity(read),
    dbPoolSize: read.int('DB_POOL_SIZE', { default: consumers + 1, min: 1, max: 200 }),
    sqs: readSqsSettings(read),
    consumers,
    batchSize: read.int('SQS_BATCH_SIZE', { default: 10, min: 1, max: 10 }),
    visibilityTimeoutSeconds: read.int('SQS_VISIBILITY_TIMEOUT_SECONDS', { default: 60, min: 5, max: 43_200 }),
    // Long polls end within this; a stop waits for the poll in hand, so keep it well under ECS's 30 s.
    waitTimeSeconds: read.int('SQS_WAIT_TIME_SECONDS', { default: 10, min: 0, max: 20 }),
    migrateOnStart: read.bool('MIGRATE_ON_START', { default: true }),
    metricsEmf: read.bool('METRICS_EMF', { default: true }),
    stage: read.string('STAGE', { default: DEFAULT_STAGE }) as string,
    fleetReportSeconds: read.int('FLEET_REPORT_SECONDS', { default: 300, min: 1, max: 3600 }),
    livenessFile: read.string('WORKER_LIVENESS_FILE')
  }
  read.done()
  return config
}
