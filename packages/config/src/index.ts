/**
 * Reads configuration from an environment object once, at start-up, and
 * reports every problem at once. Apps call this from their config.ts with
 * process.env; nothing else in the code base reads the environment.
 */
export type Env = Readonly<Record<string, string | undefined>>

export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly problems: string[]
  constructor (problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.problems = problems
  }
}

export interface EnvReader {
  string: (name: string, options?: { default?: string }) => string | undefined
  requiredString: (name: string) => string
  url: (name: string, protocols: readonly string[], options?: { required?: boolean }) => string | undefined
  int: (name: string, options: { default: number, min: number, max: number }) => number
  bool: (name: string, options: { default: boolean }) => boolean
  oneOf: <T extends string>(name: string, values: readonly T[], options: { default: T }) => T
  /** Records a problem that no single variable's check catches (two settings that do not fit together). */
  problem: (text: string) => void
  /** Throws ConfigError listing every problem found so far. */
  done: () => void
}

export function readEnv (env: Env): EnvReader {
  const problems: string[] = []
  const raw = (name: string): string | undefined => {
    const value = env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }
  return {
    string: (name, options) => raw(name) ?? options?.default,
    requiredString (name) {
      const value = raw(name)
      if (value === undefined) problems.push(`${name} is required`)
      return value ?? ''
    },
    url (name, protocols, options) {
      const value = raw(name)
      if (value === undefined) {
        if (options?.required === true) problems.push(`${name} is required (${protocols.join(' or ')} URL)`)
        return undefined
      }
      try {
        const parsed = new URL(value)
        if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) problems.push(`${name} must be a ${protocols.join(' or ')} URL`)
      } catch {
        problems.push(`${name} is not a URL`)
      }
      return value
    },
    int (name, { default: fallback, min, max }) {
      const value = raw(name)
      if (value === undefined) return fallback
      const n = Number(value)
      if (!/^-?\d+$/.test(value) || n < min || n > max) {
        problems.push(`${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`)
        return fallback
      }
      return n
    },
    bool (name, { default: fallback }) {
      const value = raw(name)?.toLowerCase()
      if (value === undefined) return fallback
      if (['1', 'true', 'yes'].includes(value)) return true
      if (['0', 'false', 'no'].includes(value)) return false
      problems.push(`${name} must be true or false, not ${JSON.stringify(value)}`)
      return fallback
    },
    oneOf (name, values, { default: fallback }) {
      const value = raw(name)
      if (value === undefined) return fallback
      if (!(values as readonly string[]).includes(value)) {
        problems.push(`${name} must be one of ${values.join(', ')}, not ${JSON.stringify(value)}`)
        return fallback
      }
      return value as typeof fallback
    },
    problem (text) {
      problems.push(text)
    },
    done () {
      if (problems.length > 0) throw new ConfigError(problems)
    }
  }
}

export interface SqsSettings {
  queueUrl: string
  region: string
  endpoint?: string
  credentials?: { accessKeyId: string, secretAccessKey: string }
}

/** SQS_QUEUE_URL, AWS_REGION, SQS_ENDPOINT: read the same way by the API and the worker. */
export function readSqsSettings (read: EnvReader): SqsSettings {
  const queueUrl = read.url('SQS_QUEUE_URL', ['http', 'https'], { required: true }) ?? ''
  const region = read.requiredString('AWS_REGION')
  const endpoint = read.url('SQS_ENDPOINT', ['http', 'https'])
  // A local SQS server checks no signature, but the SDK still signs: give it something.
  const credentials = endpoint === undefined ? undefined : { accessKeyId: 'local', secretAccessKey: 'local' }
  return { queueUrl, region, ...(endpoint === undefined ? {} : { endpoint, credentials }) }
}

/** How to log in to the database beyond its URL: the same shape as the store's connect options. */
export interface DatabaseSecurity {
  /** RDS IAM authentication: a token per new connection instead of the URL's password. */
  iamAuth?: { region: string }
  /** TLS verified against the RDS CA bundle, or against the PEM file `caFile`. */
  tls?: { caFile?: string }
}

/** DATABASE_IAM_AUTH, DATABASE_TLS, DATABASE_TLS_CA_FILE (and AWS_REGION for IAM): read alike by every entry point. */
export function readDatabaseSecurity (read: EnvReader): DatabaseSecurity {
  const iam = read.bool('DATABASE_IAM_AUTH', { default: false })
  const caFile = read.string('DATABASE_TLS_CA_FILE')
  const tls = read.bool('DATABASE_TLS', { default: caFile !== undefined })
  const security: DatabaseSecurity = {}
  if (tls) security.tls = caFile === undefined ? {} : { caFile }
  if (iam) {
    // The token goes to the server as a clear-text password: never without TLS.
    if (!tls) read.problem('DATABASE_IAM_AUTH=true needs DATABASE_TLS=true (the token is sent as a clear-text password)')
    security.iamAuth = { region: read.requiredString('AWS_REGION') }
  }
  return security
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * For entry points: loads the configuration, or prints every problem and exits with status 2
 * (a misconfigured task should stop at once with a readable reason, not a stack trace).
 */
export function loadOrExit<T> (load: (env: Env) => T, env: Env): T {
  try {
    return load(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(2)
  }
}
export { DAY_MS, DEFAULT_RETENTION, MIN_RAW_RETENTION_DAYS, readRetention, retentionProblems, type RetentionPolicy } from './retention.ts'
