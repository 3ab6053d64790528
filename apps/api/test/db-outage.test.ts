// Ingest through a 60 s database outage (an Aurora failover takes about a minute): a device key used once
// keeps getting 202 from the key cache, served stale for DB_OUTAGE_STALE_SECONDS and no longer.
import { ReceiveMessageCommand, DeleteMessageBatchCommand } from '@aws-sdk/client-sqs'
import { decodeMessage } from '@labclimate/contract'
import { createApiKey, createLab } from '@labclimate/store'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { startTestQueue, TEST_CREDENTIALS, type TestQueue } from '@labclimate/testkit/sqs'
import { serverOf, startTcpProxy, viaProxy, type TcpProxy } from '@labclimate/testkit/tcp-proxy'
import app, { serverOptions } from '../src/app.ts'

const OUTAGE_MS = 60_000
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function startApi (t: Test, databaseUrl: string, queue: TestQueue, staleSeconds: number): Promise<FastifyInstance> {
  const server = Fastify({ ...serverOptions({ requestTimeoutMs: 30_000 }), logger: false })
  t.teardown(async () => { await server.close() })
  await server.register(app, {
    databaseUrl,
    dbPoolSize: 2,
    sqs: { queueUrl: queue.queueUrl, region: queue.region, endpoint: queue.endpoint, credentials: TEST_CREDENTIALS },
    ingestLingerMs: 2,
    // Short, so that the key's cached answer expires early in the outage and only the stale rule keeps it.
    authCacheSeconds: 2,
    authCacheKeys: 100_000,
    authFailuresPerMinute: 1000,
    dbOutageStaleSeconds: staleSeconds,
    rateLimitPerMinute: 100_000
  })
  await server.ready()
  return server
}

async function drain (queue: TestQueue): Promise<number> {
  let readings = 0
  for (;;) {
    const r = await queue.client.send(new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
    if (r.Messages === undefined || r.Messages.length === 0) return readings
    for (const m of r.Messages) readings += decodeMessage(m.Body ?? '').readings.length
    await queue.client.send(new DeleteMessageBatchCommand({
      QueueUrl: queue.queueUrl,
      Entries: r.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' }))
    }))
  }
}

t.test('a device key used once gets 202 through a 60 s database outage; past the configured bound, 503', { timeout: 150_000 }, async (t) => {
  const database = await createTestDatabase(t)
  const queue = await startTestQueue(t)
  const proxy: TcpProxy = await startTcpProxy(serverOf(database.url))
  t.teardown(proxy.close)
  await createLab(database.db, { id: 1, name: 'Lab', address: 'A', nowMs: Date.now() })
  // Two API processes on the same database: the configured 300 s, and a bound of 20 s to see it end.
  const api = await startApi(t, viaProxy(database.url, proxy), queue, 300)
  const bounded = await startApi(t, viaProxy(database.url, proxy), queue, 20)
  // Made after both started, so neither loaded it at start: each knows it from its one use below.
  const device = { authorization: `Bearer ${(await createApiKey(database.db, { role: 'device', labId: 1, label: 'nightly', nowMs: Date.now() })).key}` }
  const upload = async (server: FastifyInstance): Promise<number> =>
    (await server.inject({
      method: 'POST',
      url: '/labs/1/readings',
      headers: device,
      payload: { timestamp: Date.now(), temperature: 20, humidity: 40 }
    })).statusCode
  t.equal(await upload(api), 202, 'used once before the outage')
  t.equal(await upload(bounded), 202)

  proxy.cut()
  const cutAt = Date.now()
  const codes: number[] = []
  const boundedCodes: Array<[number, number]> = []
  while (Date.now() - cutAt < OUTAGE_MS) {
    codes.push(await upload(api))
    boundedCodes.push([Date.now() - cutAt, await upload(bounded)])
    await sleep(2000)
  }
  t.ok((await api.inject('/health/ready')).statusCode === 503, 'the database really was unreachable')
  t.ok(codes.length >= 25, `${codes.length} uploads over ${OUTAGE_MS / 1000} s`)
  t.same([...new Set(codes)], [202], 'every upload through the outage was accepted')
  t.same([...new Set(boundedCodes.filter(([at]) => at < 15_000).map(([, code]) => code))], [202], 'bounded: accepted early in the outage')
  t.same([...new Set(boundedCodes.filter(([at]) => at > 30_000).map(([, code]) => code))], [503], 'bounded: 503 once its 20 s were over')

  proxy.restore()
  t.equal(await upload(api), 202, 'and after it')
  t.equal(await drain(queue), 2 + codes.length + boundedCodes.filter(([, code]) => code === 202).length + 1, 'every accepted reading is on the queue')
})
