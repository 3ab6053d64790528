import { ReadingsProducer } from '@labclimate/queue'
import type { Reading } from '@labclimate/contract'
import { pino } from 'pino'
import t from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { queueDepth, startTestQueue, TEST_CREDENTIALS } from '@labclimate/testkit/sqs'
import { serverOf, startTcpProxy, viaProxy } from '@labclimate/testkit/tcp-proxy'
import { waitFor } from '@labclimate/testkit/wait'
import { createWorker } from '../src/worker.ts'

const T0 = Date.UTC(2026, 10, 25, 0, 0, 0)
const readings = (labId: number, n: number): Reading[] => Array.from({ length: n }, (_, i) => ({
  labId,
  recordedAtMs: T0 + i * 30_000,
  temperatureMilliC: 20000 + i,
  humidityMilliPct: 40000 + i
}))

t.test('while the database is unreachable the worker holds its batch, then stores it; nothing reaches the DLQ', async (t) => {
  // Short visibility and a low redrive count: messages that were received again and again would be in the DLQ within seconds.
  const queue = await startTestQueue(t, { maxReceiveCount: 2, visibilityTimeoutSeconds: 2 })
  const database = await createTestDatabase(t)
  const proxy = await startTcpProxy(serverOf(database.url))
  t.teardown(proxy.close)
  const logs: string[] = []
  const log = pino({ level: 'warn' }, { write: (line: string) => { logs.push(line) } })
  const worker = createWorker({
    logLevel: 'warn',
    databaseUrl: viaProxy(database.url, proxy),
    dbPoolSize: 2,
    sqs: { queueUrl: queue.queueUrl, region: queue.region, endpoint: queue.endpoint, credentials: TEST_CREDENTIALS },
    consumers: 1,
    batchSize: 10,
    visibilityTimeoutSeconds: 3,
    waitTimeSeconds: 1,
    migrateOnStart: false,
    metricsEmf: false
  }, log)
  await worker.start()
  t.teardown(worker.stop)

  proxy.cut()
  const producer = new ReadingsProducer({ client: queue.client, queueUrl: queue.queueUrl, maxMessageBytes: 20_000 })
  await Promise.all([1, 2, 3].map(async (lab) => await producer.enqueue(readings(lab, 1000))))
  await waitFor('the worker to notice the outage', () => logs.some((l) => l.includes('database unreachable')))
  // The waits the worker itself chose (retryInMs of each retry), polled with a generous ceiling: once they add up
  // to more than visibility timeout × redrive count (6 s), a batch held without heartbeats would be in the DLQ.
  const waits = (): number[] => logs
    .filter((l) => l.includes('database unreachable'))
    .map((l) => Number((JSON.parse(l) as { retryInMs?: number }).retryInMs ?? 0))
  await waitFor('the worker to have waited out 8 s of outage', () => waits().reduce((a, b) => a + b, 0) >= 8_000, 60_000, 100)
  t.equal(queueDepth(queue, queue.dlqName), 0, 'no message in the DLQ during the outage')
  proxy.restore()

  await waitFor('all readings stored after the outage', async () => {
    const row = await database.db.selectFrom('readings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    return Number(row.n) === 3000
  }, 30_000)
  await waitFor('queue drained', () => queueDepth(queue) === 0)
  t.equal(queueDepth(queue, queue.dlqName), 0, 'and none afterwards')
  // Backoff, whatever the machine's speed: each wait at least as long as the one before, and growing.
  const chosen = waits()
  const neverShorter = chosen.every((w, i) => i === 0 || w >= (chosen[i - 1] as number))
  t.ok(chosen.length >= 2 && neverShorter && (chosen.at(-1) as number) > (chosen[0] as number), `backed off: waits of ${chosen.join(', ')} ms`)
})
