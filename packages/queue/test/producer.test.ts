import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { decodeMessage, type Reading } from '@labclimate/contract'
import t from 'tap'
import { startTestQueue, TEST_CREDENTIALS } from '@labclimate/testkit/sqs'
import { createSqsClient, EnqueueError, ReadingsProducer, type FlushReport } from '../src/index.ts'

const T0 = Date.UTC(2026, 10, 25, 0, 0, 0)
const readingsFor = (labId: number, n: number): Reading[] =>
  Array.from({ length: n }, (_, i) => ({ labId, recordedAtMs: T0 + i * 30_000, temperatureMilliC: 20000 + (i % 500), humidityMilliPct: 40000 + (i % 700) }))

async function drain (client: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = []
  for (;;) {
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
    if (out.Messages === undefined || out.Messages.length === 0) return bodies
    for (const m of out.Messages) bodies.push(m.Body ?? '')
  }
}

t.test('concurrent requests are coalesced into few large messages, and every reading arrives', async (t) => {
  const queue = await startTestQueue(t)
  const producer = new ReadingsProducer({ client: queue.client, queueUrl: queue.queueUrl, lingerMs: 20, maxMessageBytes: 64_000 })
  const uploads = Array.from({ length: 12 }, (_, lab) => readingsFor(lab + 1, 2880))
  await Promise.all(uploads.map(async (u) => await producer.enqueue(u)))
  const bodies = await drain(queue.client, queue.queueUrl)
  t.ok(bodies.every((b) => Buffer.byteLength(b) <= 64_000), 'no message exceeds the size bound')
  const received = bodies.flatMap((b) => decodeMessage(b).readings)
  const key = (r: Reading): string => `${r.labId}:${r.recordedAtMs}:${r.temperatureMilliC}:${r.humidityMilliPct}`
  t.same(received.map(key).sort(), uploads.flat().map(key).sort(), 'the queue holds exactly the readings enqueued')
  // 34,560 readings of ~30 bytes in 64 KB messages: about 17 messages, not 34,560.
  t.ok(bodies.length <= 30, `${bodies.length} messages for 34,560 readings`)
  t.ok(producer.stats.sendBatchCalls < bodies.length, `${producer.stats.sendBatchCalls} SendMessageBatch calls carried ${bodies.length} messages`)
  t.equal(producer.stats.readingsSent, 34_560)
  await producer.close()
  await t.rejects(producer.enqueue(readingsFor(1, 1)), EnqueueError, 'a closed producer refuses new readings')
})

t.test('small requests wait briefly and share a message', async (t) => {
  const queue = await startTestQueue(t)
  const flushes: FlushReport[] = []
  const producer = new ReadingsProducer({ client: queue.client, queueUrl: queue.queueUrl, lingerMs: 30, onFlush: (f) => flushes.push(f) })
  await Promise.all([1, 2, 3, 4, 5].map(async (lab) => await producer.enqueue(readingsFor(lab, 1))))
  t.match(flushes, [{ requests: 5, readings: 5, messages: 1, sendCalls: 1, failedReadings: 0 }], 'one report for the one coalesced batch')
  const bodies = await drain(queue.client, queue.queueUrl)
  t.equal(bodies.length, 1, 'five one-reading requests, one message')
  t.equal(decodeMessage(bodies[0]!).readings.length, 5)
})

t.test('when SQS cannot take the message, enqueue rejects and nothing is reported sent', async (t) => {
  const queue = await startTestQueue(t)
  const wrongQueue = queue.queueUrl.replace(/readings$/, 'no-such-queue')
  const producer = new ReadingsProducer({ client: queue.client, queueUrl: wrongQueue, lingerMs: 1 })
  await t.rejects(producer.enqueue(readingsFor(1, 10)), EnqueueError)
  t.equal(producer.stats.readingsSent, 0)

  const unreachable = createSqsClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: TEST_CREDENTIALS })
  t.teardown(() => unreachable.destroy())
  const down = new ReadingsProducer({ client: unreachable, queueUrl: queue.queueUrl, lingerMs: 1 })
  const error = await down.enqueue(readingsFor(1, 10)).catch((e: unknown) => e)
  t.type(error, EnqueueError)
  t.ok((error as Error).cause, 'the SDK error is kept as the cause')
  t.equal(down.stats.failedReadings, 10)
})
