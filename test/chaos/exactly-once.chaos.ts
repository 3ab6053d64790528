// The exactly-once set check, on real processes under load, with faults injected:
// SIGKILL of workers mid-batch, a MariaDB restart mid-run, and duplicate deliveries of the
// very messages the API sent. At the end: every reading answered 202 is stored exactly once
// with its values, every item the client made bad was refused and none is stored, nothing is in
// the DLQ, and the minute and hour rollups equal (both ways, every field) what the clients sent.
// The faults are proven to have happened: the server's start time moved, each killed worker died
// of SIGKILL while messages were in flight, and some of those were received again. Bounded: about a minute.
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import type { Reading } from '@labclimate/contract'
import { createApiKey } from '@labclimate/store'
import { createConnection } from 'mysql2/promise'
import t from 'tap'
import { restartMariaDb, type MariaDbServer } from '@labclimate/testkit/mariadb-server'
import { createTestDatabase, TEST_DATABASE_URL } from '@labclimate/testkit/mysql'
import { expectedBuckets, rollupDifferences, storedRollups } from '@labclimate/testkit/rollups'
import { freePort, startApp, type AppProcess } from '@labclimate/testkit/processes'
import { queueDepth, startTestQueue } from '@labclimate/testkit/sqs'
import { startSqsProxy, type SqsProxy } from '@labclimate/testkit/sqs-proxy'
import { waitFor } from '@labclimate/testkit/wait'

const LOAD_MS = 25_000
const LABS = Array.from({ length: 10 }, (_, i) => i + 1)
const BATCH = 200

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
// The suite's own MariaDB (scripts/test.ts starts it and says how to restart it), never a server of the machine's.
const ownServer = process.env.TEST_MARIADB === undefined ? undefined : JSON.parse(process.env.TEST_MARIADB) as MariaDbServer

/** When the database server process started (ms, to the second), from its own Uptime: moves only if it really restarted. */
async function serverStartedAtMs (): Promise<number> {
  const connection = await createConnection(TEST_DATABASE_URL)
  try {
    const [rows] = await connection.query("SHOW GLOBAL STATUS LIKE 'Uptime'") as unknown as [Array<{ Value: string }>]
    return Date.now() - Number(rows[0]?.Value) * 1000
  } finally { await connection.end() }
}

t.test('exactly once under SIGKILL, a database restart and duplicate deliveries', {
  skip: ownServer === undefined ? 'restarts only the suite\'s own MariaDB: run it with pnpm test, without TEST_DATABASE_URL' : false
}, async (t) => {
  const queue = await startTestQueue(t, { maxReceiveCount: 10, visibilityTimeoutSeconds: 10 })
  const database = await createTestDatabase(t)
  const nowMs = Date.now()
  await database.db.insertInto('labs').values(LABS.map((id) => ({ id, name: `Lab ${id}`, address: '', created_at_ms: nowMs }))).execute()
  const keys = new Map<number, string>()
  for (const labId of LABS) keys.set(labId, `Bearer ${(await createApiKey(database.db, { role: 'device', labId, label: 'chaos', nowMs })).key}`)

  const env = { DATABASE_URL: database.url, SQS_QUEUE_URL: queue.queueUrl, SQS_ENDPOINT: queue.endpoint, AWS_REGION: queue.region, LOG_LEVEL: 'error' }
  const workerEnv = { ...env, SQS_WAIT_TIME_SECONDS: '1', WORKER_CONSUMERS: '2', SQS_VISIBILITY_TIMEOUT_SECONDS: '10', MIGRATE_ON_START: 'false' }
  const port = await freePort()
  const api = startApp('apps/api/src/server.ts', { ...env, PORT: String(port), HOST: '127.0.0.1', AUTH_CACHE_SECONDS: '300', RATE_LIMIT_PER_MINUTE: '1000000' })
  // Each worker reaches SQS through a proxy of its own, so the test knows which messages that worker held when killed.
  const proxies: SqsProxy[] = []
  const startWorker = async (): Promise<{ app: AppProcess, proxy: SqsProxy }> => {
    const proxy = await startSqsProxy(queue.endpoint)
    proxies.push(proxy)
    return { app: startApp('apps/worker/src/main.ts', { ...workerEnv, SQS_ENDPOINT: proxy.endpoint }), proxy }
  }
  const workers = [await startWorker(), await startWorker()]
  t.teardown(async () => { await api.stop(); for (const w of workers) await w.app.stop(); for (const p of proxies) await p.close() })
  const base = `http://127.0.0.1:${port}`
  await waitFor('API ready', async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.ok, 30_000)

  // What the clients were told, reading by reading: key "lab:ts" → "temperature:humidity" (thousandths).
  const accepted = new Map<string, string>()
  // Refused by what the client knows it made bad, not by what the API said (that is checked against it).
  const refused = new Set<string>()
  const verdictsWrong: string[] = []
  const figures = { requests: 0, retries: 0, readingsSent: 0, duplicateMessagesInjected: 0, workerKills: 0, mariadbRestartMs: 0, redeliveredAfterKill: [0, 0] }
  const nextTs = new Map(LABS.map((id) => [id, nowMs - 3 * 86_400_000]))
  const seenBodies: string[] = []

  async function client (id: number): Promise<void> {
    const deadline = Date.now() + LOAD_MS
    let n = 0
    while (Date.now() < deadline) {
      const labId = LABS[(id + n++) % LABS.length] as number
      const items = Array.from({ length: BATCH }, () => {
        const ts = (nextTs.get(labId) ?? 0) + 1000
        nextTs.set(labId, ts)
        const bad = ts % 37 === 0 // about one item in 37 is out of range and must be refused
        return { bad, lab_id: labId, timestamp: ts, temperature: 15 + (ts % 1000) / 100, humidity: bad ? 150 : 30 + (ts % 500) / 10 }
      })
      const body = JSON.stringify(items)
      figures.readingsSent += items.length
      for (let attempt = 0; ; attempt++) {
        figures.requests++
        const res = await fetch(`${base}/labs/upload`, {
          method: 'POST',
          headers: { authorization: keys.get(labId) ?? '', 'content-type': 'application/json' },
          body
        }).catch(() => undefined)
        if (res?.status === 202) {
          const answer = await res.json() as { rejected: Array<{ index: number }> }
          const refusedIdx = new Set(answer.rejected.map((r) => r.index))
          items.forEach((it, i) => {
            const key = `${it.lab_id}:${it.timestamp}`
            if (it.bad !== refusedIdx.has(i)) verdictsWrong.push(`${key} ${it.bad ? 'bad but accepted' : 'good but refused'}`)
            if (it.bad) refused.add(key)
            else accepted.set(key, `${Math.round(it.temperature * 1000)}:${Math.round(it.humidity * 1000)}`)
          })
          break
        }
        const why = await res?.text()
        if (res !== undefined && res.status < 500) throw new Error(`upload refused: ${res.status} ${why ?? ''}`)
        if (attempt > 50) throw new Error(`upload kept failing: ${res?.status ?? 'network error'}`)
        figures.retries++
        await sleep(200)
      }
    }
  }

  async function faults (): Promise<void> {
    const capture = (): void => {
      const q = queue.server.inspectQueue(queue.queueName)
      for (const m of [...(q?.messages.ready ?? []), ...(q?.messages.inflight ?? []).map((f) => f.message)]) seenBodies.push(m.body)
    }
    const duplicate = async (): Promise<void> => {
      for (const body of seenBodies.slice(-15)) {
        await queue.client.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: body }))
        figures.duplicateMessagesInjected++
      }
    }
    // SIGKILL while messages are in flight; keeps those messages (fauxqs's own objects, so their receive
    // count can be read after they are gone) and how the process ended.
    const kill = async (n: 0 | 1): Promise<void> => {
      const worker = workers[n] as { app: AppProcess, proxy: SqsProxy }
      await waitFor(`worker ${n + 1} holding messages`, () => worker.proxy.held().length > 0, 10_000, 10)
      const exited = new Promise<string | null>((resolve) => worker.app.child.once('exit', (_code, signal) => resolve(signal)))
      const held = new Set(worker.proxy.held())
      worker.app.child.kill('SIGKILL'); figures.workerKills++
      const signal = await exited
      // A delete the worker sent just before it died may still be on its way through the proxy: let it land, so that
      // what is still in flight now is what the dead worker really abandoned.
      await sleep(300)
      const inflight = (queue.server.inspectQueue(queue.queueName)?.messages.inflight ?? []).filter((f) => held.has(f.message.messageId))
        .map((f) => ({ message: f.message, count: f.message.approximateReceiveCount }))
      killed.push({ signal, inflight })
    }
    await sleep(3000); capture()
    await kill(0)
    await sleep(3000); workers[0] = await startWorker()
    await sleep(2000); capture()
    restart.before = await serverStartedAtMs()
    restart.began = Date.now()
    // The second kill lands while the database is down: the worker then holds a batch it cannot commit (so it has
    // sent no delete), which makes this kill certain to abandon messages in flight.
    const [restartMs] = await Promise.all([
      restartMariaDb(ownServer as MariaDbServer, { downMs: 3000 }),
      (async () => { await sleep(1500); await kill(1) })()
    ])
    figures.mariadbRestartMs = restartMs
    restart.after = await serverStartedAtMs()
    await sleep(2000); capture(); await duplicate()
    await sleep(3000); workers[1] = await startWorker()
    await sleep(2000); capture(); await duplicate()
  }
  const killed: Array<{ signal: string | null, inflight: Array<{ message: { approximateReceiveCount: number }, count: number }> }> = []
  const restart = { before: 0, began: 0, after: 0 }

  await Promise.all([client(0), client(1), client(2), client(3), faults()])
  // Checked first: with broken validation the bad items would sit on the queue until the DLQ took them, minutes later.
  t.same(verdictsWrong.slice(0, 10), [], 'the API refused exactly the items the client made bad (out-of-range humidity)')
  if (verdictsWrong.length > 0) return
  await waitFor('the queue drained', () => queueDepth(queue) === 0, 120_000, 250)
  t.equal(queueDepth(queue, queue.dlqName), 0, 'nothing in the DLQ')

  const rows = await database.db.selectFrom('readings').select(['lab_id', 'recorded_at_ms', 'temperature_milli_c', 'humidity_milli_pct']).execute()
  const stored = new Map(rows.map((r) => [`${r.lab_id}:${Number(r.recorded_at_ms)}`, `${r.temperature_milli_c}:${r.humidity_milli_pct}`]))
  const lost = [...accepted.keys()].filter((k) => !stored.has(k))
  const wrong = [...accepted].filter(([k, v]) => stored.has(k) && stored.get(k) !== v)
  const storedRefused = [...refused].filter((k) => stored.has(k))
  const extra = [...stored.keys()].filter((k) => !accepted.has(k))
  t.same(lost, [], 'every reading answered 202 is stored')
  t.same(wrong, [], 'with the values the client sent')
  t.ok(refused.size > 100, `${refused.size} bad items sent`)
  t.same(storedRefused, [], 'no refused item is stored')
  t.same(extra, [], 'nothing else is stored (each reading once: the primary key is (lab, time))')

  // Rollups against what the clients sent (thousandths, as accepted), compared both ways: a rollup row with no
  // reading behind it fails as surely as a missing one, and every field counts, hour minima and maxima too.
  const sentReadings: Reading[] = [...accepted].map(([k, v]) => {
    const [labId, atMs] = k.split(':').map(Number) as [number, number]
    const [temperatureMilliC, humidityMilliPct] = v.split(':').map(Number) as [number, number]
    return { labId, recordedAtMs: atMs, temperatureMilliC, humidityMilliPct }
  })
  t.same(
    rollupDifferences(await storedRollups(database.db, 'reading_rollups_minute'), expectedBuckets(sentReadings, 60_000)),
    [],
    'minute rollups equal what the clients sent'
  )
  t.same(
    rollupDifferences(await storedRollups(database.db, 'reading_rollups_hour'), expectedBuckets(sentReadings, 3_600_000)),
    [],
    'hour rollups equal what the clients sent'
  )

  // The faults happened, and hit work in progress.
  t.ok(restart.before < restart.began - 2000 && restart.after >= restart.began - 1000,
    `the database server really restarted (started ${restart.began - restart.before} ms before the restart, ` +
    `then ${restart.after - restart.began} ms after it began)`)
  killed.forEach((k, i) => {
    t.equal(k.signal, 'SIGKILL', `worker kill ${i + 1}: the worker was running and died of SIGKILL`)
    figures.redeliveredAfterKill[i] = k.inflight.filter((f) => f.message.approximateReceiveCount > f.count).length
    t.equal(figures.redeliveredAfterKill[i], k.inflight.length,
      `worker kill ${i + 1}: each of the ${k.inflight.length} messages it abandoned was received again ` +
      `(receive counts ${k.inflight.map((f) => `${f.count}→${f.message.approximateReceiveCount}`).join(' ')})`)
  })
  // The first kill races the worker's deletes (it may abandon nothing); the second, during the outage, cannot.
  t.ok((killed[1]?.inflight.length ?? 0) > 0,
    `the kill during the database outage hit a batch in hand: ${killed.map((k) => k.inflight.length).join(' and ')} ` +
    'messages abandoned in flight by the two kills')

  const summary = {
    ...figures,
    readingsAccepted: accepted.size,
    readingsRefused: refused.size,
    readingsStored: stored.size,
    lost: lost.length,
    refusedButStored: storedRefused.length,
    dlq: queueDepth(queue, queue.dlqName)
  }
  t.comment(`chaos figures: ${JSON.stringify(summary)}`)
  t.ok(figures.workerKills === 2 && figures.duplicateMessagesInjected > 0 && figures.mariadbRestartMs > 0, 'every fault was injected')
  t.ok(accepted.size > 10_000, `${accepted.size} readings accepted under faults`)
  t.equal(await api.stop(), 0, 'the API exits cleanly')
  for (const w of workers) t.equal(await w.app.stop(), 0, 'a worker exits cleanly')
})
