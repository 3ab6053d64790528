// How tasks reach Aurora: one MySQL user per role, authenticated with an IAM token the app signs per new
// connection (@aws-sdk/rds-signer), over TLS verified with the RDS CA bundle in the image. The users are
// created by the bootstrap task (`node dist/admin-main.js bootstrap`, docs/decisions/0005-database-access-on-aws.md);
// each task role may connect only as its own user.
import type * as iam from 'aws-cdk-lib/aws-iam'
import type * as rds from 'aws-cdk-lib/aws-rds'
import { DB_NAME, DB_PORT } from '../stateful-stack.ts'

export const DB_USERS = {
  api: 'labclimate_api',
  worker: 'labclimate_worker',
  maintenance: 'labclimate_maintenance',
  migrate: 'labclimate_migrate'
} as const
export type DbRole = keyof typeof DB_USERS

const url = (user: string, endpoint: rds.Endpoint): string => `mysql://${user}@${endpoint.hostname}:${DB_PORT}/${DB_NAME}`

/**
 * Grants `rds-db:connect` as the role's user (and nothing else) and returns the environment that makes
 * the app connect that way: writer in DATABASE_URL, and for the API the reader in DATABASE_READ_URL.
 */
export function iamDatabaseEnv (
  cluster: rds.DatabaseCluster, grantee: iam.IGrantable, role: DbRole, options: { reader?: boolean } = {}
): Record<string, string> {
  const user = DB_USERS[role]
  cluster.grantConnect(grantee, user)
  return {
    DATABASE_URL: url(user, cluster.clusterEndpoint),
    ...(options.reader === true ? { DATABASE_READ_URL: url(user, cluster.clusterReadEndpoint) } : {}),
    DATABASE_IAM_AUTH: 'true',
    DATABASE_TLS: 'true'
  }
}
