import { DEFAULT_STAGE } from '@labclimate/metrics'
import {
  LOG_LEVELS, readDatabaseSecurity, readEnv, readRetention, readSqsSettings, type DatabaseSecurity, type Env, type RetentionPolicy, type SqsSettings
} from '@labclimate/config'

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
  /** Known API keys kept in memory per process (LRU); at least the fleet's device keys. */
  authCacheKeys: number
  /** Failed authentications per client address and minute; past it, unknown keys get 429 without a lookup. */
  authFailuresPerMinute: number
  /** How long into a database outage known keys are still accepted from the cache (covers an Aurora failover). */
  dbOutageStaleSeconds: number
  /** Proxies in front of the API whose X-Forwarded-For is trusted (1 behind the ALB; 0 when exposed directly). */
  trustProxyHops: number
  /** Requests per minute per API key (or per client address without one). */
  rateLimitPerMinute: number
  /** A request whose body has not arrived by then is answered 408 (slow-body protection). */
  requestTimeoutMs: number
  /** `GET /labs` serves one shared answer recomputed at most this often (0: computed per request). */
  allLabsCacheMs: number
  /** What the maintenance job keeps (read by the same function): series fall back to rollups past it. */
  retention: RetentionPolicy
  /** Write business metrics to stdout as CloudWatch Embedded Metric Format. */
  metricsEmf: boolean
  /** The Stage dimension of every business metric (STAGE; infra sets the stage name). */
  stage: string
  /** How often each task probes the database and the queue for DatabaseReady / QueueReady. */
  readinessProbeMs: number
}

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

/** Defaults of the API's defences against floods and outages (docs/reliability.md), also used by tests that build the app. */
export const DEFENCE_DEFAULTS = { authCacheKeys: 100_000, authFailuresPerMinute: 30, dbOutageStaleSeconds: 300 } as const

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
    authCacheKeys: read.int('AUTH_CACHE_KEYS', { default: DEFENCE_DEFAULTS.authCacheKeys, min: 1000, max: 10_000_000 }),
    authFailuresPerMinute: read.int('AUTH_FAILURES_PER_MINUTE', { default: DEFENCE_DEFAULTS.authFailuresPerMinute, min: 1, max: 1_000_000 }),
    dbOutageStaleSeconds: read.int('DB_OUTAGE_STALE_SECONDS', { default: DEFENCE_DEFAULTS.dbOutageStaleSeconds, min: 0, max: 86_400 }),
    trustProxyHops: read.int('TRUST_PROXY_HOPS', { default: 0, min: 0, max: 10 }),
    rateLimitPerMinute: read.int('RATE_LIMIT_PER_MINUTE', { default: 600, min: 1, max: 1_000_000 }),
    allLabsCacheMs: read.int('ALL_LABS_CACHE_MS', { default: 1000, min: 0, max: 60_000 }),
    requestTimeoutMs: read.int('REQUEST_TIMEOUT_MS', { default: 30_000, min: 1000, max: 600_000 }),
    retention: readRetention(read),
    metricsEmf: read.bool('METRICS_EMF', { default: true }),
    stage: read.string('STAGE', { default: DEFAULT_STAGE }) as string,
    readinessProbeMs: read.int('READINESS_PROBE_MS', { default: 60_000, min: 100, max: 600_000 })
  }
  read.done()
  return config
}
