import { LOG_LEVELS, readEnv, readSqsSettings, type Env, type SqsSettings } from '@labclimate/config'

export interface ApiConfig {
  port: number
  host: string
  logLevel: typeof LOG_LEVELS[number]
  databaseUrl: string
  dbPoolSize: number
  sqs: SqsSettings
  /** How long the ingest path waits to coalesce concurrent requests into one SQS call. */
  ingestLingerMs: number
}

/** Parses and validates the API's environment; throws ConfigError naming every problem. */
export function loadApiConfig (env: Env): ApiConfig {
  const read = readEnv(env)
  const config: ApiConfig = {
    port: read.int('PORT', { default: 3000, min: 0, max: 65535 }),
    host: read.string('HOST', { default: '0.0.0.0' }) as string,
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, { default: 'info' }),
    databaseUrl: read.url('DATABASE_URL', ['mysql'], { required: true }) ?? '',
    dbPoolSize: read.int('DB_POOL_SIZE', { default: 10, min: 1, max: 200 }),
    sqs: readSqsSettings(read),
    ingestLingerMs: read.int('INGEST_LINGER_MS', { default: 5, min: 0, max: 1000 })
  }
  read.done()
  return config
}
