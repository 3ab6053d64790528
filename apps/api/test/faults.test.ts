import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { decodeMessage } from '@labclimate/contract'
import { createApiKey } from '@labclimate/store'
import Fastify from 'fastify'
import { startFauxqs } from 'fauxqs'
import t from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { startTestQueue, TEST_CREDENTIALS } from '@labclimate/testkit/sqs'
import { serverOf, startTcpProxy, viaProxy } from '@labclimate/testkit/tcp-proxy'
import { waitFor } from '@labclimate/testkit/wait'
import app, { serverOptions } from '../src/app.ts'
import { buildTestApp } from './helper.ts'

t.test('with SQS down the API answers 503 + Retry-After; once SQS is back the client\'s retry is accepted', async (t) => {
  const ctx = await buildTestApp(t)
  await ctx.app.inject({ method: 'POST', url: '/labs', headers: ctx.admin, payload: { id: 1, name: 'Lab', address: 'A' } })
  const key = await ctx.device(1)
  const body = [{ lab_id: 1, timestamp: Date.now() - 1000, temperature: 21, humidity: 40 }]
  const port = ctx.queue.server.port
  await ctx.queue.server.stop()
  const down = await ctx.app.inject({ method: 'POST', url: '/labs/upload', headers: key, payload: body })
  t.equal(down.statusCode, 503)
  t.equal(down.headers['retry-after'], '5')
  t.equal(down.headers['content-type'], 'application/problem+json; charset=utf-8')

  // The same SQS server comes back on the same address with the same queue.
  const again = await startFauxqs({ port, logger: false })
  t.teardown(() => again.stop())
  again.createQueue(ctx.queue.queueName)
  const retry = await ctx.app.inject({ method: 'POST', url: '/labs/upload', headers: key, payload: body })
  t.equal(retry.statusCode, 202)
  const received = await ctx.queue.client.send(new ReceiveMessageCommand({ QueueUrl: ctx.queue.queueUrl, MaxNumberOfMessages: 10 }))
  t.same((received.Messages ?? []).flatMap((m) => decodeMessage(m.Body ?? '').readings.map((r) => r.labId)), [1], 'the retried reading is on the queue once')
})

t.test('readiness is red while the database is unreachable and green when it is back; ingest of known labs goes on', async (t) => {
  const database = await createTestDatabase(t)
  const queue = await startTestQueue(t)
  const proxy = await startTcpProxy(serverOf(database.url))
  t.teardown(proxy.close)
  const server = Fastify({ ...serverOptions({ requestTimeoutMs: 30_000 }), logger: false })
  t.teardown(async () => { await server.close() })
  await server.register(app, {
    databaseUrl: viaProxy(database.url, proxy),
    dbPoolSize: 2,
    sqs: { queueUrl: queue.queueUrl, region: queue.region, endpoint: queue.endpoint, credentials: TEST_CREDENTIALS },
    ingestLingerMs: 2,
    authCacheSeconds: 60,
    authCacheKeys: 100_000,
    authFailuresPerMinute: 1000,
    dbOutageStaleSeconds: 300,
    rateLimitPerMinute: 10_000
  })
  const admin = { authorization: `Bearer ${(await createApiKey(database.db, { role: 'admin', label: 'a', nowMs: Date.now() })).key}` }
  await server.inject({ method: 'POST', url: '/labs', headers: admin, payload: { id: 1, name: 'Lab', address: 'A' } })
  const device = { authorization: `Bearer ${(await createApiKey(database.db, { role: 'device', labId: 1, label: 'd', nowMs: Date.now() })).key}` }
  const upload = async (): Promise<number> => (await server.inject({
    method: 'POST',
    url: '/labs/1/readings',
    headers: device,
    payload: { timestamp: Date.now(), temperature: 20, humidity: 40 }
  })).statusCode
  t.equal(await upload(), 202)
  t.equal((await server.inject('/health/ready')).statusCode, 200)

  proxy.cut()
  const red = await waitFor('readiness red', async () => {
    const res = await server.inject('/health/ready')
    return res.statusCode === 503 ? res : undefined
  })
  t.match(red.json(), { status: 503, detail: /database/ })
  t.equal(await upload(), 202, 'a known device of a known lab can still upload: ingest does not need the database')
  const lookup = await server.inject({ method: 'GET', url: '/labs/1', headers: admin })
  t.equal(lookup.statusCode, 503, 'a read that needs the database is told to retry, not a 500')
  t.equal(lookup.headers['retry-after'], '5')

  proxy.restore()
  await waitFor('readiness green again', async () => (await server.inject('/health/ready')).statusCode === 200)
})
