import { LOG_LEVELS, readDatabaseSecurity, readEnv, readSqsSettings, type DatabaseSecurity, type Env, type SqsSettings } from '@labclimate/config'

export interface ApiConfig {
  port: number
  host: string
  logLevel: typeof LOG_LEVELS[number]
  databaseUrl: string
  /** Queries that may lag the writer by a moment go here (Aurora's reader endpoint); the writer when unset. */
  databaseReadUrl?: string
  /** IAM auth and TLS (DATABASE_IAM_AUTH, DATABASE_TLS), for both URLs. */
  databaseSecurity?: DatabaseSecurity
  /** Connections per pool (the reader's pool, when there is one, has as many). */
  dbPoolSize: number
  sqs: SqsSettings
  /** How long the ingest path waits to coalesce concurrent requests into one SQS call. */
  ingestLingerMs: number
  /** A revoked key stops working within this. */
  authCacheSeconds: number
  /** Requests per minute per API key (or per client address without one). */
  rateLimitPerMinute: number
  /** A request whose body has not arrived by then is answered 408 (slow-body protection). */
  requestTimeoutMs: number
  /** `GET /labs` serves one shared answer recomputed at most this often (0: computed per request). */
  allLabsCacheMs: number
  /** What the maintenance job keeps (same variables, same defaults): series fall back to rollups past it. */
  retention: { rawDays: number, minuteDays: number }
  /** Write business metrics to stdout as CloudWatch Embedded Metric Format. */
  metricsEmf: boolean
}

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

/** Parses and validates the API's environment; throws ConfigError naming every problem. */
export function loadApiConfig (env: Env): ApiConfig {
  const read = readEnv(env)
  const config: ApiConfig = {
    port: read.int('PORT', { default: 3000, min: 0, max: 65535 }),
    host: read.string('HOST', { default: '0.0.0.0' }) as string,
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, { default: 'info' }),
    databaseUrl: read.url('DATABASE_URL', ['mysql', 'sqlite'], { required: true }) ?? '',
    ...optional('databaseReadUrl', read.url('DATABASE_READ_URL', ['mysql'])),
    databaseSecurity: readDatabaseSecurity(read),
    dbPoolSize: read.int('DB_POOL_SIZE', { default: 10, min: 1, max: 200 }),
    sqs: readSqsSettings(read),
    ingestLingerMs: read.int('INGEST_LINGER_MS', { default: 5, min: 0, max: 1000 }),
    authCacheSeconds: read.int('AUTH_CACHE_SECONDS', { default: 30, min: 0, max: 3600 }),
    rateLimitPerMinute: read.int('RATE_LIMIT_PER_MINUTE', { default: 600, min: 1, max: 1_000_000 }),
    allLabsCacheMs: read.int('ALL_LABS_CACHE_MS', { default: 1000, min: 0, max: 60_000 }),
    requestTimeoutMs: read.int('REQUEST_TIMEOUT_MS', { default: 30_000, min: 1000, max: 600_000 }),
    retention: {
      rawDays: read.int('RETENTION_RAW_DAYS', { default: 35, min: 22, max: 3650 }),
      minuteDays: read.int('RETENTION_MINUTE_DAYS', { default: 400, min: 22, max: 36500 })
    },
    metricsEmf: read.bool('METRICS_EMF', { default: true })
  }
  read.done()
  return config
}
