// Day 30: the database password is rotated while the worker runs. Its next connections are refused (errno 1045);
// the worker must hold its batches and retry, not treat them as poison, and store everything once the
// credentials work again. A real worker process, a real role user on MariaDB, a real SQS server.
import { ReadingsProducer } from '@labclimate/queue'
import type { Reading } from '@labclimate/contract'
import { bootstrap, roleUserName } from '@labclimate/admin'
import t from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { startApp } from '@labclimate/testkit/processes'
import { mayCreateUsers, roleUsersFor } from '@labclimate/testkit/role-users'
import { queueDepth, startTestQueue } from '@labclimate/testkit/sqs'
import { serverOf, startTcpProxy, viaProxy } from '@labclimate/testkit/tcp-proxy'
import { waitFor } from '@labclimate/testkit/wait'

const SKIP = await mayCreateUsers() ? false : 'the test database user may not create users (grant it as .ci/setup-mysql.sql does)'

const T0 = Date.UTC(2026, 10, 25, 0, 0, 0)
const readings = (labId: number, n: number): Reading[] => Array.from({ length: n }, (_, i) => ({
  labId,
  recordedAtMs: T0 + i * 30_000,
  temperatureMilliC: 20000 + i,
  humidityMilliPct: 40000 + i
}))

t.test('a rotated password (errno 1045) makes the worker back off, never dead-letter; it recovers when the login works again', { skip: SKIP }, async (t) => {
  // Short visibility and a low redrive count: a batch treated as poison would be in the DLQ within seconds.
  const queue = await startTestQueue(t, { maxReceiveCount: 2, visibilityTimeoutSeconds: 2 })
  const database = await createTestDatabase(t, { migrate: false })
  const roles = roleUsersFor(t, database)
  await bootstrap(database.db, {
    roleAuth: { kind: 'password', passwords: roles.passwords },
    userPrefix: roles.prefix,
    saveAdminKey: async () => {},
    now: Date.now,
    print: () => {}
  })
  const workerUser = roleUserName(roles.prefix, 'worker')
  // Through a proxy, so that cutting it ends the worker's pooled connections: only new logins meet the new password.
  const proxy = await startTcpProxy(serverOf(database.url))
  t.teardown(proxy.close)
  const worker = startApp('apps/worker/src/main.ts', {
    DATABASE_URL: viaProxy(roles.url('worker'), proxy),
    SQS_QUEUE_URL: queue.queueUrl,
    SQS_ENDPOINT: queue.endpoint,
    AWS_REGION: queue.region,
    WORKER_CONSUMERS: '1',
    SQS_WAIT_TIME_SECONDS: '1',
    SQS_VISIBILITY_TIMEOUT_SECONDS: '5',
    MIGRATE_ON_START: 'false',
    METRICS_EMF: 'false',
    LOG_LEVEL: 'info'
  })
  t.teardown(async () => {
    await worker.stop()
    if (!t.passing()) t.comment(`worker output (last 4 KB):\n${worker.output().slice(-4000)}`)
  })
  const producer = new ReadingsProducer({ client: queue.client, queueUrl: queue.queueUrl, maxMessageBytes: 20_000 })
  const stored = async (): Promise<number> => Number((await database.db.selectFrom('readings')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()).n)

  // Before: the worker logs in and stores.
  await producer.enqueue(readings(1, 500))
  await waitFor('the first readings stored', async () => await stored() === 500, 30_000)

  // Rotation: the password changes, the old connections go, readings keep arriving.
  await roles.asSuiteUser('ALTER USER ?@? IDENTIFIED BY ?', [workerUser, '%', 'rotated-elsewhere'])
  proxy.cut()
  proxy.restore()
  await Promise.all([2, 3, 4].map(async (lab) => await producer.enqueue(readings(lab, 1000))))
  const refusals = (): number => worker.output().split('\n').filter((l) => l.includes('database refused the login')).length
  await waitFor('the worker to be refused (errno 1045)', () => worker.output().includes('"errno":1045'), 30_000)
  // Backoff 0.25, 0.5, 1, 2, 4, 8 s: seven refusals span ~16 s, longer than the worker's visibility timeout (5 s,
  // its minimum) × the redrive count (2). A batch treated as poison would have reached the DLQ by then.
  // (Or a message in the DLQ, which fails the test here and not on a timeout.)
  await waitFor('seven refused retries', () => refusals() >= 7 || queueDepth(queue, queue.dlqName) > 0, 60_000)
  t.equal(queueDepth(queue, queue.dlqName), 0, 'no message in the DLQ while the login is refused')
  t.equal(await stored(), 500, 'nothing stored meanwhile')

  // The credentials work again (the task would get the new secret; here the password is set back).
  await roles.asSuiteUser('ALTER USER ?@? IDENTIFIED BY ?', [workerUser, '%', roles.passwords.worker])
  await waitFor('every reading stored after recovery', async () => await stored() === 3500, 60_000)
  await waitFor('queue drained', () => queueDepth(queue) === 0, 30_000)
  t.equal(queueDepth(queue, queue.dlqName), 0, 'and none in the DLQ afterwards')
  t.notMatch(worker.output(), /poison message left for the DLQ/, 'no batch was treated as poison')
  const retries = refusals()
  t.ok(retries >= 7 && retries < 40, `backed off: ${retries} refused retries, not a tight loop`)
})
