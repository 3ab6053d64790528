import { readDatabaseSecurity, readEnv, type DatabaseSecurity, type Env } from '@labclimate/config'
import { ROLE_NAMES, type RoleAuth } from '@labclimate/admin'

export interface AdminConfig {
  /** The connection the commands run on: the cluster's master user for `bootstrap`. */
  databaseUrl: string
  databaseSecurity: DatabaseSecurity
}

export interface BootstrapConfig {
  roleAuth: RoleAuth
  userPrefix: string
  userHost: string
  /** Where the first admin key is kept; unset (local use): the key is printed instead. */
  adminKeySecretArn?: string
  region?: string
}

/** DATABASE_URL, DATABASE_TLS, DATABASE_IAM_AUTH: what every admin command needs. */
export function loadAdminConfig (env: Env): AdminConfig {
  const read = readEnv(env)
  const config: AdminConfig = {
    databaseUrl: read.url('DATABASE_URL', ['mysql', 'sqlite'], { required: true }) ?? '',
    databaseSecurity: readDatabaseSecurity(read)
  }
  read.done()
  return config
}

/** What `bootstrap` needs beyond that: how role users log in, and where the first admin key goes. */
export function loadBootstrapConfig (env: Env): BootstrapConfig {
  const read = readEnv(env)
  const kind = read.oneOf('ROLE_USERS_AUTH', ['iam', 'password'] as const, { default: 'iam' })
  const roleAuth: RoleAuth = kind === 'iam'
    ? { kind }
    : {
        kind,
        passwords: Object.fromEntries(ROLE_NAMES.map((role) => [role, read.requiredString(`ROLE_USER_PASSWORD_${role.toUpperCase()}`)])) as
          Record<typeof ROLE_NAMES[number], string>
      }
  const adminKeySecretArn = read.string('ADMIN_KEY_SECRET_ARN')
  const config: BootstrapConfig = {
    roleAuth,
    userPrefix: read.string('ROLE_USER_PREFIX', { default: 'labclimate_' }) as string,
    userHost: read.string('ROLE_USER_HOST', { default: '%' }) as string,
    ...(adminKeySecretArn === undefined ? {} : { adminKeySecretArn, region: read.requiredString('AWS_REGION') })
  }
  if (!/^[A-Za-z0-9_]{1,20}$/.test(config.userPrefix)) read.problem('ROLE_USER_PREFIX must be 1 to 20 letters, digits or _')
  read.done()
  return config
}
