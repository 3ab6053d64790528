import { ConfigError } from '@labclimate/config'
import t from 'tap'
import { loadAdminConfig, loadBootstrapConfig } from '../src/admin-config.ts'
import { loadWorkerConfig } from '../src/config.ts'

const base = {
  DATABASE_URL: 'mysql://labclimate_api@db:3306/labclimate',
  SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/readings',
  AWS_REGION: 'eu-west-1'
}
const problems = (load: () => unknown): string[] => { try { load(); return [] } catch (e) { return e instanceof ConfigError ? e.problems : [String(e)] } }

// The API's side of this, with the same expectations: apps/api/test/database-security.test.ts.
t.test('DATABASE_TLS and DATABASE_IAM_AUTH, alike for API, worker and admin task', async (t) => {
  const aws = { ...base, DATABASE_TLS: 'true', DATABASE_IAM_AUTH: 'true' }
  t.same(loadWorkerConfig(aws).databaseSecurity, { tls: {}, iamAuth: { region: 'eu-west-1' } })
  t.same(loadAdminConfig(aws).databaseSecurity, { tls: {}, iamAuth: { region: 'eu-west-1' } })
  t.same(problems(() => loadAdminConfig({ DATABASE_URL: base.DATABASE_URL, DATABASE_TLS: 'true', DATABASE_IAM_AUTH: 'true' })), ['AWS_REGION is required'])
})

t.test('bootstrap: IAM role users by default, passwords named per role otherwise', async (t) => {
  t.same(loadBootstrapConfig({}), { roleAuth: { kind: 'iam' }, userPrefix: 'labclimate_', userHost: '%' })
  t.same(problems(() => loadBootstrapConfig({ ROLE_USERS_AUTH: 'password', ROLE_USER_PASSWORD_API: 'a' })), [
    'ROLE_USER_PASSWORD_WORKER is required', 'ROLE_USER_PASSWORD_MAINTENANCE is required', 'ROLE_USER_PASSWORD_MIGRATE is required'
  ])
  t.match(loadBootstrapConfig({ ADMIN_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:k', AWS_REGION: 'eu-west-1' }), {
    adminKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:k',
    region: 'eu-west-1'
  })
  t.same(problems(() => loadBootstrapConfig({ ADMIN_KEY_SECRET_ARN: 'arn:x' })), ['AWS_REGION is required'])
  t.same(problems(() => loadBootstrapConfig({ ROLE_USER_PREFIX: 'bad-prefix' })), ['ROLE_USER_PREFIX must be 1 to 20 letters, digits or _'])
})
