import { ConfigError } from '@labclimate/config'
import t from 'tap'
import { loadApiConfig } from '../src/config.ts'

const base = {
  DATABASE_URL: 'mysql://labclimate_api@db:3306/labclimate',
  SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/readings',
  AWS_REGION: 'eu-west-1'
}
const problems = (load: () => unknown): string[] => { try { load(); return [] } catch (e) { return e instanceof ConfigError ? e.problems : [String(e)] } }

t.test('DATABASE_READ_URL: the API reads from it when set, from the writer when not', async (t) => {
  t.equal(loadApiConfig(base).databaseReadUrl, undefined)
  t.equal(loadApiConfig({ ...base, DATABASE_READ_URL: 'mysql://labclimate_api@db-ro:3306/labclimate' }).databaseReadUrl,
    'mysql://labclimate_api@db-ro:3306/labclimate')
  t.same(problems(() => loadApiConfig({ ...base, DATABASE_READ_URL: 'sqlite:x.db' })), ['DATABASE_READ_URL must be a mysql URL'])
})

// The worker's and admin task's side of this, with the same expectations: apps/worker/test/database-security.test.ts.
t.test('DATABASE_TLS and DATABASE_IAM_AUTH, alike for API, worker and admin task', async (t) => {
  t.same(loadApiConfig(base).databaseSecurity, {}, 'neither by default (local MariaDB)')
  const aws = { ...base, DATABASE_TLS: 'true', DATABASE_IAM_AUTH: 'true' }
  t.same(loadApiConfig(aws).databaseSecurity, { tls: {}, iamAuth: { region: 'eu-west-1' } })
  t.same(loadApiConfig({ ...base, DATABASE_TLS_CA_FILE: '/etc/ca.pem' }).databaseSecurity, { tls: { caFile: '/etc/ca.pem' } }, 'a CA file implies TLS')
  t.same(problems(() => loadApiConfig({ ...base, DATABASE_IAM_AUTH: 'true' })), [
    'DATABASE_IAM_AUTH=true needs DATABASE_TLS=true (the token is sent as a clear-text password)'
  ])
})
