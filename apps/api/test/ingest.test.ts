import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { decodeMessage, type Reading } from '@labclimate/contract'
import { createEmfMetrics } from '@labclimate/metrics'
import t, { type Test } from 'tap'
import { buildTestApp, type TestApp } from './helper.ts'

const NOW = Date.UTC(2026, 10, 25, 23, 0, 0)
const iso = (ms: number): string => new Date(ms).toISOString()

async function queued (ctx: TestApp): Promise<Reading[]> {
  const out: Reading[] = []
  for (;;) {
    const r = await ctx.queue.client.send(new ReceiveMessageCommand({ QueueUrl: ctx.queue.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
    if (r.Messages === undefined || r.Messages.length === 0) return out
    for (const m of r.Messages) out.push(...decodeMessage(m.Body ?? '').readings)
  }
}

/** An app with labs `ids`, and the device key of the first one. */
async function withLabs (t: Test, ...ids: number[]): Promise<TestApp & { key: { authorization: string } }> {
  const ctx = await buildTestApp(t, { now: () => NOW })
  for (const id of ids) {
    const res = await ctx.app.inject({ method: 'POST', url: '/labs', headers: ctx.admin, payload: { id, name: `Lab ${id}`, address: 'Building A' } })
    t.equal(res.statusCode, 201)
  }
  return { ...ctx, key: await ctx.device(ids[0] ?? 1) }
}

t.test('POST /labs/upload: valid readings are queued, invalid ones and other labs\' are listed by index', async (t) => {
  const ctx = await withLabs(t, 1, 2)
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/labs/upload',
    headers: ctx.key,
    payload: [
      { lab_id: 1, timestamp: iso(NOW - 60_000), temperature: '21.5°C', humidity: '45%' },
      { lab_id: '1', timestamp: NOW - 30_000, temperature: '70.7°F', humidity: 45.2 },
      { lab_id: 1, timestamp: iso(NOW), temperature: 'hot', humidity: 40 },
      { lab_id: 99, timestamp: iso(NOW), temperature: 20, humidity: 40 },
      { lab_id: 1, timestamp: iso(NOW - 90_000), temperature: '294.65K', humidity: '50 %RH' },
      { lab_id: 2, timestamp: iso(NOW - 90_000), temperature: 20, humidity: 50 }
    ]
  })
  t.equal(res.statusCode, 202)
  const body = res.json()
  t.same(body.status, true)
  t.equal(body.accepted, 3)
  t.match(body.rejected, [
    { index: 2, reason: /temperature "hot"/ },
    { index: 3, reason: /may write only lab 1/ },
    { index: 5, reason: /lab_id 2: this API key may write only lab 1/ }
  ])
  t.equal(body.rejected.length, 3)
  t.same((await queued(ctx)).sort((a, b) => a.recordedAtMs - b.recordedAtMs), [
    { labId: 1, recordedAtMs: NOW - 90_000, temperatureMilliC: 21500, humidityMilliPct: 50000 },
    { labId: 1, recordedAtMs: NOW - 60_000, temperatureMilliC: 21500, humidityMilliPct: 45000 },
    { labId: 1, recordedAtMs: NOW - 30_000, temperatureMilliC: 21500, humidityMilliPct: 45200 }
  ], 'exactly the accepted readings, in °C and %RH, are on the queue')
})

t.test('a day batch of 2,880 readings fits in one request', async (t) => {
  const ctx = await withLabs(t, 7)
  const start = NOW - 86_400_000 + 30_000
  const payload = Array.from({ length: 2880 }, (_, i) => ({
    lab_id: 7,
    timestamp: iso(start + i * 30_000),
    temperature: `${(20 + (i % 50) / 10).toFixed(1)}°C`,
    humidity: `${40 + (i % 20)}%`,
    device: 'sensor-7',
    firmware: '1.2.3'
  }))
  const size = Buffer.byteLength(JSON.stringify(payload))
  t.ok(size > 250_000, `body is ${size} bytes`)
  const res = await ctx.app.inject({ method: 'POST', url: '/labs/upload', headers: ctx.key, payload })
  t.equal(res.statusCode, 202)
  t.same(res.json().rejected, [])
  t.equal((await queued(ctx)).length, 2880)
})

t.test('POST /labs/{labId}/readings takes one reading or an array', async (t) => {
  const ctx = await withLabs(t, 3)
  const one = await ctx.app.inject({
    method: 'POST',
    url: '/labs/3/readings',
    headers: ctx.key,
    payload: { timestamp: iso(NOW), temperature: 20.25, humidity: 41 }
  })
  t.equal(one.statusCode, 202)
  t.equal(one.json().accepted, 1)
  const many = await ctx.app.inject({
    method: 'POST',
    url: '/labs/3/readings',
    headers: ctx.key,
    payload: [{ timestamp: iso(NOW - 1000), temperature: 20, humidity: 41 }, { lab_id: 4, timestamp: iso(NOW - 2000), temperature: 20, humidity: 41 }]
  })
  t.equal(many.statusCode, 202)
  t.match(many.json(), { accepted: 1, rejected: [{ index: 1, reason: /does not match the lab 3/ }] })
  t.equal((await queued(ctx)).length, 2)
  const other = await ctx.app.inject({
    method: 'POST',
    url: '/labs/404/readings',
    headers: ctx.key,
    payload: { timestamp: iso(NOW), temperature: 20, humidity: 41 }
  })
  t.equal(other.statusCode, 403, 'a device key cannot write another lab')
  t.equal(other.headers['content-type'], 'application/problem+json; charset=utf-8')
  // A device key whose lab was never registered (keys are made directly in the database here).
  const orphan = await ctx.device(77)
  const gone = await ctx.app.inject({
    method: 'POST',
    url: '/labs/77/readings',
    headers: orphan,
    payload: { timestamp: iso(NOW), temperature: 20, humidity: 41 }
  })
  t.equal(gone.statusCode, 404, 'readings of a lab that does not exist are refused')
  const goneLegacy = await ctx.app.inject({
    method: 'POST',
    url: '/labs/upload',
    headers: orphan,
    payload: [{ lab_id: 77, timestamp: iso(NOW), temperature: 20, humidity: 41 }]
  })
  t.equal(goneLegacy.statusCode, 422)
  t.match(goneLegacy.json().errors, [{ index: 0, message: /lab 77 does not exist/ }])
})

t.test('bodies that are not arrays of objects get 400 problem+json saying where', async (t) => {
  const ctx = await withLabs(t, 1)
  const cases: Array<[string, string, RegExp]> = [
    ['an object', JSON.stringify({ lab_id: 1, timestamp: iso(NOW), temperature: 20, humidity: 40 }), /must be array/],
    ['a string', '"hello"', /must be array/],
    ['an array with a number', JSON.stringify([{ lab_id: 1 }, 5]), /body\/1 must be object/],
    ['invalid JSON', '[{"lab_id": 1,', /not valid JSON: .*position/i],
    ['a __proto__ key', '[{"lab_id":1,"__proto__":{"x":1}}]', /prototype/i]
  ]
  for (const [what, payload, detail] of cases) {
    const res = await ctx.app.inject({ method: 'POST', url: '/labs/upload', payload, headers: { ...ctx.key, 'content-type': 'application/json' } })
    t.equal(res.statusCode, 400, what)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', what)
    t.match(res.json(), { type: 'about:blank', status: 400, title: 'Bad Request', detail, instance: '/labs/upload' }, what)
  }
  const arrayWithNumber = await ctx.app.inject({ method: 'POST', url: '/labs/upload', headers: ctx.key, payload: [{ lab_id: 1 }, 5] })
  t.match(arrayWithNumber.json().errors, [{ index: 1, path: '/1', in: 'body' }])
  t.equal((await queued(ctx)).length, 0, 'nothing was queued')
})

t.test('limits: item count, body size, all items invalid', async (t) => {
  const ctx = await withLabs(t, 1)
  const tooMany = Array.from({ length: 10_001 }, () => ({}))
  const many = await ctx.app.inject({ method: 'POST', url: '/labs/upload', headers: ctx.key, payload: tooMany })
  t.equal(many.statusCode, 400)
  t.match(many.json().detail, /must NOT have more than 10000 items/)
  const huge = await ctx.app.inject({
    method: 'POST',
    url: '/labs/upload',
    payload: `[${('{"lab_id":1,"pad":"' + 'x'.repeat(1000) + '"},').repeat(5000)}{}]`,
    headers: { ...ctx.key, 'content-type': 'application/json' }
  })
  t.equal(huge.statusCode, 413)
  t.equal(huge.headers['content-type'], 'application/problem+json; charset=utf-8')
  const allBad = await ctx.app.inject({
    method: 'POST',
    url: '/labs/upload',
    headers: ctx.key,
    payload: [{ lab_id: 1, timestamp: 'soon', temperature: 20, humidity: 40 }]
  })
  t.equal(allBad.statusCode, 422)
  t.match(allBad.json(), { status: 422, errors: [{ index: 0, path: '/0', message: /timestamp "soon"/ }] })
})

t.test('when the queue refuses, the client gets 503 with Retry-After and never 202', async (t) => {
  const ctx = await withLabs(t, 1)
  await ctx.queue.server.stop()
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/labs/upload',
    headers: ctx.key,
    payload: [{ lab_id: 1, timestamp: iso(NOW), temperature: 20, humidity: 40 }]
  })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '5')
  t.match(res.json(), { status: 503, detail: /nothing was stored/ })
  t.notMatch(res.body, /ECONNREFUSED|at .*\.ts/, 'no internals leak')
})

t.test('business metrics: accepted, rejected and out-of-range readings are counted as EMF', async (t) => {
  const lines: string[] = []
  const metrics = createEmfMetrics({ service: 'api', write: (line) => lines.push(line), flushMs: 3_600_000 })
  const ctx = await buildTestApp(t, { now: () => NOW, metrics })
  await ctx.app.inject({ method: 'POST', url: '/labs', headers: ctx.admin, payload: { id: 1, name: 'Lab 1', address: 'A' } })
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/labs/upload',
    headers: await ctx.device(1),
    payload: [
      { lab_id: 1, timestamp: NOW, temperature: 20, humidity: 40 },
      { lab_id: 1, timestamp: NOW - 1000, temperature: '200°F', humidity: 40 },
      { lab_id: 1, timestamp: NOW - 2000, temperature: 20, humidity: 101 },
      { lab_id: 1, timestamp: NOW - 3000, temperature: 'warm', humidity: 40 }
    ]
  })
  t.equal(res.statusCode, 202)
  metrics.flush()
  t.match(JSON.parse(lines[0] ?? '{}'), { Service: 'api', ReadingsAccepted: 1, ReadingsRejected: 3, ReadingsOutOfRange: 2 })
})
