// A SendMessageBatch that succeeds as a call but lists some entries in `Failed` (real SQS does this under
// throttling or an internal error): the readings in those entries must never be answered 202. A thin proxy in
// front of the real SQS server (fauxqs) leaves the chosen entries out and reports them failed, as SQS would.
import { decodeMessage, type Reading } from '@labclimate/contract'
import { EnqueueError, ReadingsProducer, createSqsClient } from '@labclimate/queue'
import { createApiKey } from '@labclimate/store'
import t from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { freePort, startApp } from '@labclimate/testkit/processes'
import { startTestQueue, TEST_CREDENTIALS, type TestQueue } from '@labclimate/testkit/sqs'
import { startSqsProxy } from '@labclimate/testkit/sqs-proxy'
import { waitFor } from '@labclimate/testkit/wait'

/** "lab:time" of every reading in the messages on the queue, read without consuming them. */
function onQueue (queue: TestQueue): string[] {
  const q = queue.server.inspectQueue(queue.queueName)
  return [...(q?.messages.ready ?? []), ...(q?.messages.inflight ?? []).map((f) => f.message)]
    .flatMap((m) => decodeMessage(m.body).readings.map((r) => `${r.labId}:${r.recordedAtMs}`))
}

t.test('producer: entries SQS lists as failed reject exactly their callers; everyone told "done" is on the queue', async (t) => {
  const queue = await startTestQueue(t)
  // Every second entry of every call fails, on every attempt: the producer's retries cannot save them.
  const proxy = await startSqsProxy(queue.endpoint, { failBatchEntry: (_e, i) => i % 2 === 1 })
  t.teardown(async () => { await proxy.close() })
  const client = createSqsClient({ region: queue.region, endpoint: proxy.endpoint, credentials: TEST_CREDENTIALS })
  t.teardown(() => { client.destroy() })
  // Small messages, so that one call carries several entries; a long linger, so the 12 callers share calls.
  const producer = new ReadingsProducer({ client, queueUrl: queue.queueUrl, maxMessageBytes: 3_000, lingerMs: 50 })
  const callers = Array.from({ length: 12 }, (_, c) => Array.from({ length: 100 }, (_, i): Reading => ({
    labId: c + 1,
    recordedAtMs: 1_700_000_000_000 + i * 1000,
    temperatureMilliC: 20_000,
    humidityMilliPct: 40_000
  })))
  const outcomes = await Promise.all(callers.map(async (readings) =>
    await producer.enqueue(readings).then(() => 'done', (error: unknown) => error instanceof EnqueueError ? 'refused' : String(error))))

  const partial = proxy.calls.filter((c) => c.action === 'SendMessageBatch' &&
    ((c.response.Failed as unknown[] | undefined) ?? []).length > 0 &&
    ((c.response.Successful as unknown[] | undefined) ?? []).length > 0)
  t.ok(partial.length > 0, `${partial.length} SendMessageBatch calls succeeded with some entries failed`)
  t.ok(outcomes.includes('refused'), `some callers were refused (${outcomes.filter((o) => o === 'refused').length} of ${outcomes.length})`)
  t.same(outcomes.filter((o) => o !== 'done' && o !== 'refused'), [], 'no other outcome')
  const queued = new Set(onQueue(queue))
  const lostAfterDone = callers.filter((_, c) => outcomes[c] === 'done')
    .flatMap((readings) => readings.filter((r) => !queued.has(`${r.labId}:${r.recordedAtMs}`)))
  t.equal(lostAfterDone.length, 0, 'every reading of a caller told "done" is on the queue')
})

t.test('API: a SendMessageBatch with failed entries never gives 202; entries that fail once are retried and then 202', async (t) => {
  const queue = await startTestQueue(t)
  let mode: 'fail' | 'once' | 'pass' = 'pass'
  const seen = new Set<string>()
  const proxy = await startSqsProxy(queue.endpoint, {
    failBatchEntry: (entry) => {
      if (mode === 'fail') return true
      if (mode === 'once') { const body = (entry as { MessageBody?: string }).MessageBody ?? ''; const first = !seen.has(body); seen.add(body); return first }
      return false
    }
  })
  t.teardown(async () => { await proxy.close() })
  const database = await createTestDatabase(t)
  const nowMs = Date.now()
  await database.db.insertInto('labs').values({ id: 1, name: 'Lab 1', address: '', created_at_ms: nowMs }).execute()
  const key = `Bearer ${(await createApiKey(database.db, { role: 'device', labId: 1, label: 'd', nowMs })).key}`
  const port = await freePort()
  const api = startApp('apps/api/src/server.ts', {
    DATABASE_URL: database.url,
    SQS_QUEUE_URL: queue.queueUrl,
    SQS_ENDPOINT: proxy.endpoint,
    AWS_REGION: queue.region,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error'
  })
  t.teardown(async () => { await api.stop() })
  await waitFor('API ready', async () => (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.ok, 30_000)
  const upload = async (first: number): Promise<Response> => await fetch(`http://127.0.0.1:${port}/labs/upload`, {
    method: 'POST',
    headers: { authorization: key, 'content-type': 'application/json' },
    body: JSON.stringify(Array.from({ length: 50 }, (_, i) => ({
      lab_id: 1,
      timestamp: nowMs - 3_600_000 + (first + i) * 1000,
      temperature: 21,
      humidity: 45
    })))
  })

  mode = 'fail'
  const refused = await upload(0)
  t.equal(refused.status, 503, 'every attempt had the entry failed: 503, not 202')
  t.match(refused.headers.get('content-type'), /application\/problem\+json/)
  t.ok(refused.headers.get('retry-after') !== null, 'with Retry-After')
  t.ok(
    proxy.calls.some((c) => c.action === 'SendMessageBatch' && ((c.response.Failed as unknown[] | undefined) ?? []).length > 0),
    'the call itself succeeded, listing the entry in Failed'
  )
  t.same(onQueue(queue), [], 'and nothing of it is on the queue')

  mode = 'once'
  const retried = await upload(100)
  t.equal(retried.status, 202, 'an entry that failed once and then went through: 202')
  const queued = onQueue(queue)
  t.equal(queued.length, 50, 'its 50 readings are on the queue, once')
  t.equal(new Set(queued).size, 50)
})
