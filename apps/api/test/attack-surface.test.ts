// What one client can cost the API: bad tokens (no database lookup beyond a small budget), spellings of the
// same key (one rate-limit bucket), readiness polling (one check a second), hostile bodies (answers of a few
// KB), the /docs boundary, and the 503 text when SQS took only part of a request.
import { createServer, request as httpRequest } from 'node:http'
import { randomBytes } from 'node:crypto'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { decodeMessage, MAX_LISTED_PROBLEMS } from '@labclimate/contract'
import { createApiKey, createLab } from '@labclimate/store'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { createTestDatabase, type TestDatabase } from '@labclimate/testkit/mysql'
import { startQueryCounter, type QueryCounter } from '@labclimate/testkit/mysql-query-counter'
import { startTestQueue, TEST_CREDENTIALS, type TestQueue } from '@labclimate/testkit/sqs'
import app, { serverOptions } from '../src/app.ts'
import docsPlugin from '../src/docs/plugin.ts'
import authPlugin from '../src/plugins/auth.ts'
import databasePlugin from '../src/plugins/database.ts'
import pageSecurityPlugin from '../src/plugins/page-security.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'
const bearer = (key: string): { authorization: string } => ({ authorization: `Bearer ${key}` })
const wellFormed = (): string => `lc_${randomBytes(32).toString('base64url')}`

/** An HTTP proxy before the SQS server: `answer` may answer a call itself (by its X-Amz-Target), else it is passed on. */
async function sqsProxy (
  t: Test,
  answer: (target: string) => { status: number, body: string } | undefined
): Promise<{ endpoint: string, forwardTo: (endpoint: string) => void }> {
  let upstreamBase = ''
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const own = answer(String(req.headers['x-amz-target'] ?? ''))
      if (own !== undefined) { res.writeHead(own.status, { 'content-type': 'application/x-amz-json-1.0' }).end(own.body); return }
      const upstream = httpRequest(`${upstreamBase}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers)
        reply.pipe(res)
      })
      upstream.end(Buffer.concat(chunks))
    })
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { proxy.close() })
  const address = proxy.address()
  return {
    endpoint: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`,
    forwardTo: (endpoint) => { upstreamBase = endpoint }
  }
}

interface Setup {
  api: FastifyInstance
  database: TestDatabase
  queue: TestQueue
  counter: QueryCounter
  /** a device key of lab 1 and a read key, made before the app started */
  device: { authorization: string }
  reader: { authorization: string }
}

interface SetupOptions {
  rateLimitPerMinute?: number
  authFailuresPerMinute?: number
  trustProxyHops?: number
  queueEndpoint?: string
  routes?: (app: FastifyInstance) => void
}

/** The app on a fresh database reached through a statement counter; lab 1 and two keys exist before it starts. */
async function setup (t: Test, options: SetupOptions = {}): Promise<Setup> {
  const database = await createTestDatabase(t)
  const queue = await startTestQueue(t)
  const counter = await startQueryCounter(database.url)
  t.teardown(counter.close)
  const nowMs = Date.now()
  await createLab(database.db, { id: 1, name: 'Lab 1', address: 'A', nowMs })
  const device = bearer((await createApiKey(database.db, { role: 'device', labId: 1, label: 'd', nowMs })).key)
  const reader = bearer((await createApiKey(database.db, { role: 'read', label: 'r', nowMs })).key)
  const api = Fastify({ ...serverOptions({ requestTimeoutMs: 30_000, trustProxyHops: options.trustProxyHops ?? 0 }), logger: false })
  t.teardown(async () => { await api.close() })
  await api.register(app, {
    databaseUrl: counter.url(database.url),
    dbPoolSize: 3,
    sqs: { queueUrl: queue.queueUrl, region: queue.region, endpoint: options.queueEndpoint ?? queue.endpoint, credentials: TEST_CREDENTIALS },
    ingestLingerMs: 2,
    authCacheSeconds: 30,
    authCacheKeys: 100_000,
    authFailuresPerMinute: options.authFailuresPerMinute ?? 20,
    dbOutageStaleSeconds: 300,
    rateLimitPerMinute: options.rateLimitPerMinute ?? 100_000
  })
  options.routes?.(api)
  await api.ready()
  return { api, database, queue, counter, device, reader }
}

t.test('tokens that cannot be keys cost no lookup; unknown ones cost at most the address budget; known keys are never held back', async (t) => {
  const { api, counter, device } = await setup(t, { authFailuresPerMinute: 20 })
  const before = counter.statements()
  const upload = await api.inject({
    method: 'POST',
    url: '/labs/1/readings',
    headers: device,
    payload: { timestamp: Date.now(), temperature: 20, humidity: 40 }
  })
  t.equal(upload.statusCode, 202, 'a key made before the app started')
  t.equal(counter.statements() - before, 0, 'no statement: the key and the lab were loaded at start')

  const keyLookups = (): number => counter.matching(/from `api_keys`/)
  const malformed = ['Bearer x', 'Bearer lc_short', `Bearer ${'A'.repeat(16_000)}`, `Bearer lc_${'!'.repeat(43)}`, 'Basic abc', 'Bearer', '']
  const start = keyLookups()
  for (let i = 0; i < 500; i++) {
    const res = await api.inject({ method: 'GET', url: '/labs', headers: { authorization: malformed[i % malformed.length] as string } })
    if (![401, 429].includes(res.statusCode)) t.fail(`malformed token → ${res.statusCode}`)
  }
  t.equal(keyLookups() - start, 0, '500 malformed tokens: no lookup')

  // A fresh address budget: well-formed random tokens from another client address.
  const flood = await Promise.all(Array.from({ length: 300 }, async () =>
    (await api.inject({ method: 'GET', url: '/labs', headers: bearer(wellFormed()), remoteAddress: '203.0.113.9' })).statusCode))
  const lookups = keyLookups() - start
  t.ok(lookups <= 20, `300 concurrent well-formed unknown tokens: ${lookups} lookups (budget 20)`)
  t.ok(flood.filter((s) => s === 401).length <= 20, 'at most the budget were looked up and refused')
  t.equal(flood.filter((s) => s === 429).length + flood.filter((s) => s === 401).length, 300, 'the rest got 429')
  const limited = await api.inject({ method: 'GET', url: '/labs', headers: bearer(wellFormed()), remoteAddress: '203.0.113.9' })
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['content-type'], PROBLEM)
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.match(limited.json().detail, /failed authentications/)
  const sameNat = await api.inject({
    method: 'POST',
    url: '/labs/1/readings',
    headers: device,
    remoteAddress: '203.0.113.9',
    payload: { timestamp: Date.now(), temperature: 20, humidity: 40 }
  })
  t.equal(sameNat.statusCode, 202, 'a known device key from the same address is not held back')

  // One lookup per token, however many requests carry it at once, and a refused token is remembered.
  const one = wellFormed()
  const mark = keyLookups()
  const same = await Promise.all(Array.from({ length: 50 }, async () =>
    (await api.inject({ method: 'GET', url: '/labs', headers: bearer(one), remoteAddress: '198.51.100.1' })).statusCode))
  t.same([...new Set(same)], [401])
  t.equal(keyLookups() - mark, 1, '50 concurrent requests with the same unknown token: one lookup')
  await api.inject({ method: 'GET', url: '/labs', headers: bearer(one), remoteAddress: '198.51.100.1' })
  t.equal(keyLookups() - mark, 1, 'and none when it comes again')
})

t.test('behind a proxy the client address is the last X-Forwarded-For entry; spoofed earlier entries change nothing', async (t) => {
  const { api } = await setup(t, { authFailuresPerMinute: 3, trustProxyHops: 1 })
  const codes: number[] = []
  for (let i = 0; i < 5; i++) {
    const headers = { ...bearer(wellFormed()), 'x-forwarded-for': `10.9.9.${i}, 192.0.2.7` }
    codes.push((await api.inject({ method: 'GET', url: '/labs', headers })).statusCode)
  }
  t.same(codes, [401, 401, 401, 429, 429], 'one client (192.0.2.7) whatever it puts first')
  const other = await api.inject({ method: 'GET', url: '/labs', headers: { ...bearer(wellFormed()), 'x-forwarded-for': '192.0.2.8' } })
  t.equal(other.statusCode, 401, 'another client has its own budget')
})

t.test('the rate limit counts per key, however the header is spelled', async (t) => {
  const { api, reader } = await setup(t, { rateLimitPerMinute: 3 })
  const key = reader.authorization.slice('Bearer '.length)
  const spellings = [`Bearer ${key}`, `Bearer  ${key}`, `bearer ${key}`, `Bearer ${key}  `, `BEARER\t${key}`]
  const codes: number[] = []
  for (const authorization of spellings) codes.push((await api.inject({ method: 'GET', url: '/labs', headers: { authorization } })).statusCode)
  t.same(codes, [200, 200, 200, 429, 429])
})

t.test('readiness: one check a second however many ask', async (t) => {
  let sqsCalls = 0
  const proxy = await sqsProxy(t, (target) => { if (target.endsWith('GetQueueAttributes')) sqsCalls++; return undefined })
  const { api, queue, counter } = await setup(t, { queueEndpoint: proxy.endpoint })
  proxy.forwardTo(queue.endpoint)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const checks = (): number => counter.matching(/^SELECT 1/i)
  const before = checks()
  const started = Date.now()
  const answers = await Promise.all(Array.from({ length: 200 }, async () => (await api.inject('/health/ready')).statusCode))
  for (let i = 0; i < 20; i++) answers.push((await api.inject('/health/ready')).statusCode)
  const elapsed = Date.now() - started
  t.same([...new Set(answers)], [200])
  const rounds = Math.floor(elapsed / 1000) + 1
  t.ok(sqsCalls >= 1 && sqsCalls <= rounds, `${answers.length} readiness answers in ${elapsed} ms: ${sqsCalls} queue checks`)
  t.ok(checks() - before >= 1 && checks() - before <= rounds, `${checks() - before} database checks`)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  await api.inject('/health/ready')
  t.ok(sqsCalls >= 2, 'checked again after a second')
})

t.test('/docs is public on its own path segment only', async (t) => {
  // The docs and auth plugins as the app registers them, with routes that merely start with /docs
  // declared like any route (no config.auth: admin-only) beside them.
  const database = await createTestDatabase(t)
  const reader = bearer((await createApiKey(database.db, { role: 'read', label: 'r', nowMs: Date.now() })).key)
  const server = Fastify({ ...serverOptions({ requestTimeoutMs: 30_000 }), logger: false })
  t.teardown(async () => { await server.close() })
  await server.register(databasePlugin, { url: database.url, poolSize: 2 })
  await server.register(authPlugin, { cacheMs: 30_000, cacheKeys: 1000, staleMs: 0, failuresPerMinute: 1000 })
  await server.register(pageSecurityPlugin)
  await server.register(docsPlugin)
  server.get('/docsX', async () => ({ secret: true }))
  server.get('/docs-internal/data', async () => ({ secret: true }))
  await server.ready()
  t.equal((await server.inject('/docs')).statusCode, 200)
  t.equal((await server.inject('/docs/json')).statusCode, 200)
  for (const url of ['/docsX', '/docs-internal/data']) {
    const res = await server.inject(url)
    t.equal(res.statusCode, 401, `${url} needs a key: ${res.body.slice(0, 100)}`)
    t.equal((await server.inject({ url, headers: reader })).statusCode, 403, `${url} is admin-only, like any undeclared route`)
  }
})

t.test('hostile bodies answer in a few KB, listing the first 100 problems and counting the rest', async (t) => {
  const { api, device } = await setup(t)
  const json = { ...device, 'content-type': 'application/json' }
  const post = async (payload: string): Promise<{ status: number, bytes: number, ms: number, body: Record<string, unknown> }> => {
    const started = performance.now()
    const res = await api.inject({ method: 'POST', url: '/labs/upload', headers: json, payload })
    return { status: res.statusCode, bytes: res.body.length, ms: performance.now() - started, body: res.json() }
  }
  const zeros = `[${'0,'.repeat(2_097_000)}0]`
  t.ok(zeros.length > 4_190_000 && zeros.length <= 4 * 1024 * 1024, `${zeros.length} bytes`)
  const huge = await post(zeros)
  t.equal(huge.status, 413)
  t.ok(huge.bytes < 4096, `4 MiB of [0,0,…]: ${huge.bytes} bytes of answer in ${huge.ms.toFixed(0)} ms`)
  t.match(huge.body.detail, /about 2,097,001 JSON values/, 'the answer counts them')
  t.ok(huge.ms < 2000, 'fast (generous bound for a shared machine)')

  const tenThousandZeros = await post(`[${'0,'.repeat(9_999)}0]`)
  t.equal(tenThousandZeros.status, 400)
  t.ok(tenThousandZeros.bytes < 8192, `10,000 items that are not objects: ${tenThousandZeros.bytes} bytes`)
  t.equal((tenThousandZeros.body.errors as unknown[]).length, MAX_LISTED_PROBLEMS)
  t.equal(tenThousandZeros.body.errors_total, 10_000)
  t.match(tenThousandZeros.body.errors, [{ index: 0, path: '/0', in: 'body', message: 'must be object' }])
  t.match(tenThousandZeros.body.detail, /10,000 items are not objects/)

  const badObjects = await post(JSON.stringify(Array.from({ length: 10_000 }, () => ({ lab_id: 1, timestamp: 'x'.repeat(300) }))))
  t.equal(badObjects.status, 422)
  t.ok(badObjects.bytes < 16_384, `10,000 refused readings: ${badObjects.bytes} bytes`)
  t.equal((badObjects.body.errors as unknown[]).length, MAX_LISTED_PROBLEMS)
  t.equal(badObjects.body.errors_total, 10_000)

  const oneGood = { lab_id: 1, timestamp: Date.now(), temperature: 20, humidity: 40 }
  const mixed = await post(JSON.stringify([oneGood, ...Array.from({ length: 500 }, () => ({ lab_id: 1 }))]))
  t.equal(mixed.status, 202)
  t.equal(mixed.body.accepted, 1)
  t.equal(mixed.body.rejected_count, 500)
  t.equal((mixed.body.rejected as unknown[]).length, MAX_LISTED_PROBLEMS)
  t.match(mixed.body.message, /500 rejected \(the first 100 are listed\)/)

  const wideObject = `[{${Array.from({ length: 250_000 }, (_, i) => `"k${i}":0`).join(',')}}]`
  for (const [what, payload] of [['wide objects', wideObject], ['{} items', `[${'{},'.repeat(1_000_000)}{}]`]] as const) {
    const res = await post(payload)
    t.equal(res.status, 413, `${what}: refused before parsing`)
    t.ok(res.bytes < 1024, `${what}: ${res.bytes} bytes in ${res.ms.toFixed(0)} ms`)
  }
  t.equal((await api.inject('/')).statusCode, 200, 'still serving')
})

t.test('when SQS takes part of a request, the 503 says so, and the part it took is on the queue', async (t) => {
  // The first SendMessageBatch passes; every later one fails.
  let sends = 0
  const proxy = await sqsProxy(t, (target) => target.endsWith('SendMessageBatch') && ++sends > 1
    ? { status: 500, body: '{"__type":"InternalFailure","message":"injected"}' }
    : undefined)
  const { api, queue, device } = await setup(t, { queueEndpoint: proxy.endpoint })
  proxy.forwardTo(queue.endpoint)
  const now = Date.now()
  // 10,000 readings: two messages of up to 256 KB, which cannot share one SendMessageBatch call.
  const payload = Array.from({ length: 10_000 }, (_, i) => ({ lab_id: 1, timestamp: now - i * 1000, temperature: 20, humidity: 40 }))
  const res = await api.inject({ method: 'POST', url: '/labs/upload', headers: device, payload })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '5')
  t.match(res.json().detail, /some of the readings were queued and will be stored/)
  t.notMatch(res.json().detail, /nothing was stored/)
  const received = await queue.client.send(new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MaxNumberOfMessages: 10 }))
  const queued = (received.Messages ?? []).flatMap((m) => decodeMessage(m.Body ?? '').readings)
  t.ok(queued.length > 0 && queued.length < 10_000, `${queued.length} of the 10,000 readings are on the queue`)
})
