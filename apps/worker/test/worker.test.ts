import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { encodeMessage, type Reading } from '@labclimate/contract'
import { ReadingsProducer } from '@labclimate/queue'
import { createEmfMetrics, noMetrics, type Metrics } from '@labclimate/metrics'
import { createConnection } from 'mysql2/promise'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { queueDepth, startTestQueue, TEST_CREDENTIALS, type TestQueue } from '@labclimate/testkit/sqs'
import { startSqsProxy } from '@labclimate/testkit/sqs-proxy'
import { waitFor } from '@labclimate/testkit/wait'
import type { WorkerConfig } from '../src/config.ts'
import { createWorker, type Worker } from '../src/worker.ts'

const T0 = Date.UTC(2026, 10, 24, 0, 0, 0)
const day = (labId: number): Reading[] => Array.from({ length: 2880 }, (_, i) => ({
  labId, recordedAtMs: T0 + i * 30_000, temperatureMilliC: 19000 + ((i * 37 + labId) % 5000), humidityMilliPct: 35000 + ((i * 53) % 20000)
}))

async function startWorker (t: Test, queue: TestQueue, databaseUrl: string, metrics: Metrics = noMetrics, endpoint = queue.endpoint): Promise<Worker> {
  const config: WorkerConfig = {
    logLevel: 'silent',
    databaseUrl,
    dbPoolSize: 3,
    sqs: { queueUrl: queue.queueUrl, region: queue.region, endpoint, credentials: TEST_CREDENTIALS },
    consumers: 2,
    batchSize: 10,
    visibilityTimeoutSeconds: 2,
    waitTimeSeconds: 1,
    migrateOnStart: true,
    metricsEmf: false
  }
  const worker = createWorker(config, pino({ level: 'silent' }), { metrics })
  await worker.start()
  t.teardown(async () => { await worker.stop() })
  return worker
}

async function countRows (worker: Worker, table: 'readings' | 'reading_rollups_hour'): Promise<number> {
  const row = await worker.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

t.test('readings put on SQS by the producer end up stored once, and the queue is emptied', async (t) => {
  const queue = await startTestQueue(t)
  const { url } = await createTestDatabase(t, { migrate: false })
  const emf: string[] = []
  const metrics = createEmfMetrics({ service: 'worker', write: (line) => emf.push(line), flushMs: 3_600_000 })
  const worker = await startWorker(t, queue, url, metrics)
  const producer = new ReadingsProducer({ client: queue.client, queueUrl: queue.queueUrl, maxMessageBytes: 50_000 })
  await Promise.all([1, 2, 3, 4].map(async (lab) => await producer.enqueue(day(lab))))
  await waitFor('all readings stored', async () => (await countRows(worker, 'readings')) === 4 * 2880)
  await waitFor('queue drained', () => queueDepth(queue) === 0)
  const sums = await worker.db.selectFrom('reading_rollups_hour')
    .select((eb) => ['lab_id', eb.fn.sum<number>('reading_count').as('n'), eb.fn.sum<number>('temperature_sum').as('t')])
    .groupBy('lab_id')
    .orderBy('lab_id')
    .execute()
  t.same(sums.map((s) => [s.lab_id, Number(s.n), Number(s.t)]), [1, 2, 3, 4].map((lab) => [lab, 2880, day(lab).reduce((s, r) => s + r.temperatureMilliC, 0)]))

  metrics.flush()
  const line = JSON.parse(emf[0] ?? '{}')
  t.equal(line.ReadingsStored, 4 * 2880, 'the ReadingsStored metric counts what was stored')
  t.ok(Array.isArray(line.EndToEndLagMs) && line.EndToEndLagMs.every((v: number) => v >= 0), 'end-to-end lag is observed per message')
  t.match(line._aws.CloudWatchMetrics[0], { Namespace: 'Labclimate', Dimensions: [['Service']] })

  // The same readings uploaded again (a device repeating its upload) change nothing.
  await producer.enqueue(day(2))
  await waitFor('repeat consumed', () => queueDepth(queue) === 0)
  t.equal(await countRows(worker, 'readings'), 4 * 2880)
  const after = await worker.db.selectFrom('reading_rollups_hour').select((eb) => eb.fn.sum<number>('reading_count').as('n')).executeTakeFirstOrThrow()
  t.equal(Number(after.n), 4 * 2880, 'rollups did not count the repeat')
})

t.test('a real redelivery: the delete after a commit is lost, the message comes back after its visibility timeout and changes nothing', async (t) => {
  const queue = await startTestQueue(t, { maxReceiveCount: 5, visibilityTimeoutSeconds: 2 })
  const { url } = await createTestDatabase(t, { migrate: false })
  // The worker's first delete is "lost" (answered, never passed on): SQS redelivers the message, as after a crash.
  const lost = new Set<string>()
  const proxy = await startSqsProxy(queue.endpoint, {
    answer: (action, request) => {
      if (action !== 'DeleteMessageBatch' && action !== 'DeleteMessage') return undefined
      const entries = action === 'DeleteMessage'
        ? [{ Id: '0', ReceiptHandle: String(request.ReceiptHandle) }]
        : request.Entries as Array<{ Id: string, ReceiptHandle: string }>
      if (entries.every((e) => lost.size > 0 && !lost.has(e.ReceiptHandle))) return undefined
      for (const e of entries) lost.add(e.ReceiptHandle)
      return action === 'DeleteMessage' ? {} : { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] }
    }
  })
  t.teardown(async () => { await proxy.close() })
  const readings = day(5)
  await queue.client.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: encodeMessage('once', T0, readings) }))
  const worker = await startWorker(t, queue, url, noMetrics, proxy.endpoint)
  await waitFor('the message received twice', () => proxy.received().length >= 2, 30_000)
  await waitFor('queue drained', () => queueDepth(queue) === 0, 30_000)
  const ids = proxy.received()
  t.equal(new Set(ids).size, 1, `one message, received ${ids.length} times (the second after its visibility timeout)`)
  t.equal(await countRows(worker, 'readings'), 2880, 'its readings stored once')
  const sums = await worker.db.selectFrom('reading_rollups_hour')
    .select((eb) => [eb.fn.sum<number>('reading_count').as('n'), eb.fn.sum<number>('temperature_sum').as('t')])
    .executeTakeFirstOrThrow()
  t.same([Number(sums.n), Number(sums.t)], [2880, readings.reduce((s, r) => s + r.temperatureMilliC, 0)], 'rollups count it once')
})

t.test('a batch that fails in the database for one message: the others are stored one by one, only the culprit is left', async (t) => {
  const queue = await startTestQueue(t, { maxReceiveCount: 2, visibilityTimeoutSeconds: 1 })
  const database = await createTestDatabase(t)
  // The culprit: readings of lab 666 make the database refuse the insert (a trigger), whatever the batch around them.
  const admin = await createConnection(database.url)
  await admin.query('CREATE TRIGGER refuse_lab_666 BEFORE INSERT ON readings FOR EACH ROW ' +
    "BEGIN IF NEW.lab_id = 666 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lab 666 refused by the test'; END IF; END")
  await admin.end()
  const proxy = await startSqsProxy(queue.endpoint)
  t.teardown(async () => { await proxy.close() })
  const good = [day(1).slice(0, 100), day(2).slice(0, 100)]
  const bad = day(666).slice(0, 10)
  for (const [id, readings] of [['good-1', good[0]], ['bad', bad], ['good-2', good[1]]] as const) {
    await queue.client.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: encodeMessage(id, T0, readings ?? []) }))
  }
  const worker = await startWorker(t, queue, database.url, noMetrics, proxy.endpoint)
  await waitFor('the main queue empty (stored, or moved to the DLQ)', () => queueDepth(queue) === 0, 30_000)
  t.equal(queueDepth(queue, queue.dlqName), 1, 'only the culprit went to the DLQ')
  const together = proxy.calls.filter((c) => c.action === 'ReceiveMessage').some((c) => ((c.response.Messages as unknown[] | undefined) ?? []).length === 3)
  t.ok(together, 'the three messages were received as one batch')
  const labs = await worker.db.selectFrom('readings').select((eb) => ['lab_id', eb.fn.countAll<number>().as('n')]).groupBy('lab_id').orderBy('lab_id').execute()
  t.same(labs.map((r) => [r.lab_id, Number(r.n)]), [[1, 100], [2, 100]], 'both batch-mates stored, the culprit not')
})

t.test('a poison message goes to the DLQ after the redrive count; its batch-mates are stored', async (t) => {
  const queue = await startTestQueue(t, { maxReceiveCount: 2, visibilityTimeoutSeconds: 1 })
  const { url } = await createTestDatabase(t, { migrate: false })
  const good = day(9).slice(0, 100)
  for (const body of ['{"v":1,"id":"x","readings":"nope"', encodeMessage('good', T0, good), '{"v":99,"id":"future","sentAtMs":1,"readings":[]}']) {
    await queue.client.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: body }))
  }
  const worker = await startWorker(t, queue, url)
  await waitFor('good readings stored', async () => (await countRows(worker, 'readings')) === 100)
  await waitFor('both poison messages in the DLQ', () => queueDepth(queue, queue.dlqName) === 2, 20_000)
  t.equal(queueDepth(queue), 0, 'nothing left on the main queue')
  t.equal(await countRows(worker, 'readings'), 100)
})
