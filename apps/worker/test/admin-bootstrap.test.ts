// The deploy's one-off task, run as that task runs it: a process with only environment variables. It makes the
// per-role users and the first admin key, keeps the key in Secrets Manager (a protocol-level stand-in here), and
// that key then works against the API, which itself runs as the api role user.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { connectDatabase, hashKey, storeReadings } from '@labclimate/store'
import Fastify from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import app, { serverOptions } from '@labclimate/api'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { REPO_ROOT } from '@labclimate/testkit/processes'
import { mayCreateUsers, roleUsersFor } from '@labclimate/testkit/role-users'
import { startSecretsManager } from '@labclimate/testkit/secrets-manager'
import { startTestQueue, TEST_CREDENTIALS } from '@labclimate/testkit/sqs'

const SKIP = await mayCreateUsers() ? false : 'the test database user may not create users (grant it as .ci/setup-mysql.sql does)'

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:labclimate/dev/admin-key-AbCdEf'

/** `node apps/worker/src/admin-main.ts …` with exactly `env` (and PATH), as an ECS run-task would. */
async function admin (args: string[], env: Record<string, string>): Promise<{ code: number | null, out: string }> {
  const child = spawn(process.execPath, ['apps/worker/src/admin-main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, out }
}

/** errno of what `work` throws (undefined when it succeeds). */
async function errnoOf (work: () => Promise<unknown>): Promise<number | undefined> {
  try { await work() } catch (error) { return (error as { errno?: number }).errno ?? -1 }
  return undefined
}

t.test('bootstrap: role users, the first admin key in Secrets Manager, usable against the API; a second run makes no second key', { skip: SKIP }, async (t) => {
  // An empty database, as a new cluster has: bootstrap applies the migrations itself.
  const database = await createTestDatabase(t, { migrate: false })
  const roles = roleUsersFor(t, database)
  const secrets = await startSecretsManager(t)
  const env = {
    DATABASE_URL: database.url,
    ...roles.env,
    ADMIN_KEY_SECRET_ARN: SECRET_ARN,
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test'
  }

  const first = await admin(['bootstrap'], env)
  t.equal(first.code, 0, `first run succeeds:\n${first.out}`)
  const stored = secrets.values.get(SECRET_ARN)
  t.match(stored, /^lc_[A-Za-z0-9_-]{43}$/, 'an API key was stored in the named secret')
  t.notOk(first.out.includes(stored ?? '?'), 'the key itself is never printed')
  t.match(first.out, SECRET_ARN, 'the output says where it is')
  t.match(first.out, `aws secretsmanager get-secret-value --secret-id '${SECRET_ARN}'`)
  const adminRows = await database.db.selectFrom('api_keys').selectAll().where('role', '=', 'admin').execute()
  t.equal(adminRows.length, 1, 'one admin key in the database')
  t.equal(adminRows[0]?.key_hash, createHash('sha256').update(stored ?? '').digest('hex'), 'and it is the stored one')

  // The key opens the API, and the API runs as the api role user (its grants suffice for what admins do).
  const queue = await startTestQueue(t)
  const api = Fastify({ ...serverOptions({ requestTimeoutMs: 30_000 }), logger: false })
  t.teardown(async () => { await api.close() })
  await api.register(app, {
    databaseUrl: roles.url('api'),
    dbPoolSize: 2,
    sqs: { queueUrl: queue.queueUrl, region: queue.region, endpoint: queue.endpoint, credentials: TEST_CREDENTIALS },
    ingestLingerMs: 2,
    authCacheSeconds: 30,
    rateLimitPerMinute: 100_000
  })
  const bearer = { authorization: `Bearer ${stored ?? ''}` }
  const lab = await api.inject({ method: 'POST', url: '/labs', headers: bearer, payload: { id: 11, name: 'Cold room', address: 'B2' } })
  t.equal(lab.statusCode, 201, 'POST /labs with the bootstrap key')
  const key = await api.inject({ method: 'POST', url: '/keys', headers: bearer, payload: { role: 'read', label: 'postman' } })
  t.equal(key.statusCode, 201, 'POST /keys with the bootstrap key')
  const readKey = (key.json() as { key: string }).key
  const read = await api.inject({ method: 'GET', url: '/labs', headers: { authorization: `Bearer ${readKey}` } })
  t.equal(read.statusCode, 200, 'the key it made reads averages')

  const second = await admin(['bootstrap'], env)
  t.equal(second.code, 0, `second run succeeds:\n${second.out}`)
  t.match(second.out, /a live admin key exists/)
  t.equal(secrets.calls.filter((c) => c.operation === 'PutSecretValue').length, 1, 'the secret was written once')
  t.equal(secrets.values.get(SECRET_ARN), stored, 'and still holds the first key')
  t.equal((await database.db.selectFrom('api_keys').select('id').where('role', '=', 'admin').execute()).length, 1, 'still one admin key')

  // The same image's keys/labs commands, as one-off tasks.
  const list = await admin(['keys', 'list'], { DATABASE_URL: database.url })
  t.equal(list.code, 0)
  t.match(list.out, /\tadmin\t-\tfirst admin key \(bootstrap\)\tlive/)
  t.match(list.out, /\tread\t-\tpostman\tlive/)
  t.notOk(list.out.includes(stored ?? '?'))
  t.match((await admin(['labs', 'list'], { DATABASE_URL: database.url })).out, /11\tCold room\tB2/)
})

t.test('each role user holds only its grants', { skip: SKIP }, async (t) => {
  const database = await createTestDatabase(t, { migrate: false })
  const roles = roleUsersFor(t, database)
  const done = await admin(['bootstrap'], { DATABASE_URL: database.url, ...roles.env })
  t.equal(done.code, 0, done.out)
  t.match(done.out, /admin key \d+: lc_/, 'without ADMIN_KEY_SECRET_ARN (local use) the key is printed once')
  const as = (role: 'api' | 'worker' | 'maintenance' | 'migrate'): ReturnType<typeof connectDatabase> => {
    const db = connectDatabase({ url: roles.url(role), poolSize: 1 })
    t.teardown(async () => { await db.destroy() })
    return db
  }
  const ER_TABLEACCESS_DENIED = 1142
  const ER_SPECIFIC_ACCESS_DENIED = 1227
  const worker = as('worker')
  const reading = { labId: 1, recordedAtMs: Date.UTC(2026, 10, 25), temperatureMilliC: 21000, humidityMilliPct: 40000 }
  t.equal(await errnoOf(async () => await storeReadings(worker, [reading])), undefined, 'worker: stores readings and their rollups')
  const adminKeyRow = { key_hash: hashKey('x'), key_prefix: 'x', role: 'admin', lab_id: null, label: 'x', created_at_ms: 0 } as const
  t.equal(await errnoOf(async () => await worker.insertInto('api_keys').values(adminKeyRow).execute()), ER_TABLEACCESS_DENIED, 'worker: cannot write api_keys')
  t.equal(await errnoOf(async () => await worker.deleteFrom('readings').execute()), ER_TABLEACCESS_DENIED, 'worker: cannot delete readings')

  const api = as('api')
  t.equal(await errnoOf(async () => await api.selectFrom('readings').selectAll().execute()), undefined, 'api: reads')
  const rawReading = { lab_id: 1, recorded_at_ms: 1, temperature_milli_c: 0, humidity_milli_pct: 0 }
  t.equal(await errnoOf(async () => await api.insertInto('readings').values(rawReading).execute()), ER_TABLEACCESS_DENIED, 'api: cannot write readings')
  t.equal(await errnoOf(async () => await api.schema.dropTable('readings').execute()), ER_TABLEACCESS_DENIED, 'api: cannot DROP')

  const maintenance = as('maintenance')
  const expireHours = async (): Promise<unknown> => await maintenance.deleteFrom('reading_rollups_hour').where('bucket_start_ms', '<', 0).execute()
  t.equal(await errnoOf(expireHours), undefined, 'maintenance: expires hour rollups')
  t.equal(await errnoOf(async () => await maintenance.deleteFrom('api_keys').execute()), ER_TABLEACCESS_DENIED, 'maintenance: cannot touch api_keys')

  const migrate = as('migrate')
  t.equal(await errnoOf(async () => await migrate.schema.createTable('scratch').addColumn('id', 'integer').execute()), undefined, 'migrate: DDL')
  t.equal(await errnoOf(async () => await sql`CREATE USER 'lct_never'@'%'`.execute(migrate)), ER_SPECIFIC_ACCESS_DENIED, 'migrate: cannot create users')

  const rows = await database.db.selectFrom('readings').selectAll().execute()
  t.equal(rows.length, 1, 'only the worker\'s reading is there')
})

t.test('IAM mode (the default) issues Aurora\'s CREATE USER … IDENTIFIED WITH AWSAuthenticationPlugin; without that plugin nothing further happens', {
  skip: SKIP
}, async (t) => {
  const database = await createTestDatabase(t, { migrate: false })
  const roles = roleUsersFor(t, database)
  const run = await admin(['bootstrap'], { DATABASE_URL: database.url, ROLE_USER_PREFIX: roles.prefix })
  // MariaDB parses the statement and stops at the plugin, which only Aurora has: the syntax is accepted.
  t.equal(run.code, 1)
  t.match(run.out, /Plugin 'AWSAuthenticationPlugin' is not loaded/)
  t.equal((await database.db.selectFrom('api_keys').select('id').execute()).length, 0, 'no admin key without its users')
})
