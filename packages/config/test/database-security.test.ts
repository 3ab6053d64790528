import t from 'tap'
import { loadApiConfig } from '../../../apps/api/src/config.ts'
import { loadWorkerConfig } from '../../../apps/worker/src/config.ts'
import { loadAdminConfig, loadBootstrapConfig } from '../../../apps/worker/src/admin-config.ts'
import { ConfigError } from '../src/index.ts'

const base = { DATABASE_URL: 'mysql://labclimate_api@db:3306/labclimate', SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/readings', AWS_REGION: 'eu-west-1' }
const problems = (load: () => unknown): string[] => { try { load(); return [] } catch (e) { return e instanceof ConfigError ? e.problems : [String(e)] } }

t.test('DATABASE_READ_URL: the API reads from it when set, from the writer when not', async (t) => {
  t.equal(loadApiConfig(base).databaseReadUrl, undefined)
  t.equal(loadApiConfig({ ...base, DATABASE_READ_URL: 'mysql://labclimate_api@db-ro:3306/labclimate' }).databaseReadUrl, 'mysql://labclimate_api@db-ro:3306/labclimate')
  t.same(problems(() => loadApiConfig({ ...base, DATABASE_READ_URL: 'sqlite:x.db' })), ['DATABASE_READ_URL must be a mysql URL'])
})

t.test('DATABASE_TLS and DATABASE_IAM_AUTH, alike for API, worker and admin task', async (t) => {
  t.same(loadApiConfig(base).databaseSecurity, {}, 'neither by default (local MariaDB)')
  const aws = { ...base, DATABASE_TLS: 'true', DATABASE_IAM_AUTH: 'true' }
  t.same(loadApiConfig(aws).databaseSecurity, { tls: {}, iamAuth: { region: 'eu-west-1' } })
  t.same(loadWorkerConfig(aws).databaseSecurity, { tls: {}, iamAuth: { region: 'eu-west-1' } })
  t.same(loadAdminConfig(aws).databaseSecurity, { tls: {}, iamAuth: { region: 'eu-west-1' } })
  t.same(loadApiConfig({ ...base, DATABASE_TLS_CA_FILE: '/etc/ca.pem' }).databaseSecurity, { tls: { caFile: '/etc/ca.pem' } }, 'a CA file implies TLS')
  t.same(problems(() => loadApiConfig({ ...base, DATABASE_IAM_AUTH: 'true' })), ['DATABASE_IAM_AUTH=true needs DATABASE_TLS=true (the token is sent as a clear-text password)'])
  t.same(problems(() => loadAdminConfig({ DATABASE_URL: base.DATABASE_URL, DATABASE_TLS: 'true', DATABASE_IAM_AUTH: 'true' })), ['AWS_REGION is required'])
})

t.test('bootstrap: IAM role users by default, passwords named per role otherwise', async (t) => {
  t.same(loadBootstrapConfig({}), { roleAuth: { kind: 'iam' }, userPrefix: 'labclimate_', userHost: '%' })
  t.same(problems(() => loadBootstrapConfig({ ROLE_USERS_AUTH: 'password', ROLE_USER_PASSWORD_API: 'a' })), [
    'ROLE_USER_PASSWORD_WORKER is required', 'ROLE_USER_PASSWORD_MAINTENANCE is required', 'ROLE_USER_PASSWORD_MIGRATE is required'
  ])
  t.match(loadBootstrapConfig({ ADMIN_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:k', AWS_REGION: 'eu-west-1' }), { adminKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:k', region: 'eu-west-1' })
  t.same(problems(() => loadBootstrapConfig({ ADMIN_KEY_SECRET_ARN: 'arn:x' })), ['AWS_REGION is required'])
  t.same(problems(() => loadBootstrapConfig({ ROLE_USER_PREFIX: 'bad-prefix' })), ['ROLE_USER_PREFIX must be 1 to 20 letters, digits or _'])
})
