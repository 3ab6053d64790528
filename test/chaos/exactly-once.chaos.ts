// The exactly-once set check, on real processes under load, with faults injected:
// SIGKILL of workers mid-batch, a MariaDB restart mid-run, and duplicate deliveries of the
// very messages the API sent. At the end: every reading answered 202 is stored exactly once
// with its values, no refused item is stored, nothing is in the DLQ, and the rollups equal a
// recomputation from the raw rows. Bounded: about a minute.
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { createApiKey } from '@labclimate/store'
import { sql } from 'kysely'
import t from 'tap'
import { restartMariaDb, type MariaDbServer } from '../support/mariadb-server.ts'
import { createTestDatabase } from '../support/mysql.ts'
import { freePort, startApp, type AppProcess } from '../support/processes.ts'
import { queueDepth, startTestQueue } from '../support/sqs.ts'
import { waitFor } from '../support/wait.ts'

const LOAD_MS = 25_000
const LABS = Array.from({ length: 10 }, (_, i) => i + 1)
const BATCH = 200

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
// The suite's own MariaDB (scripts/test.ts starts it and says how to restart it), never a server of the machine's.
const ownServer = process.env.TEST_MARIADB === undefined ? undefined : JSON.parse(process.env.TEST_MARIADB) as MariaDbServer

t.test('exactly once under SIGKILL, a database restart and duplicate deliveries', { skip: ownServer === undefined ? 'restarts only the suite\'s own MariaDB: run it with pnpm test, without TEST_DATABASE_URL' : false }, async (t) => {
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
  const workers: AppProcess[] = [startApp('apps/worker/src/main.ts', workerEnv), startApp('apps/worker/src/main.ts', workerEnv)]
  t.teardown(async () => { await api.stop(); for (const w of workers) await w.stop() })
  const base = `http://127.0.0.1:${port}`
  await waitFor('API ready', async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.ok, 30_000)

  // What the clients were told, reading by reading: key "lab:ts" → "temperature:humidity" (thousandths).
  const accepted = new Map<string, string>()
  const refused = new Set<string>()
  const figures = { requests: 0, retries: 0, readingsSent: 0, duplicateMessagesInjected: 0, workerKills: 0, mariadbRestartMs: 0 }
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
        return { lab_id: labId, timestamp: ts, temperature: 15 + (ts % 1000) / 100, humidity: bad ? 150 : 30 + (ts % 500) / 10 }
      })
      const body = JSON.stringify(items)
      figures.readingsSent += items.length
      for (let attempt = 0; ; attempt++) {
        figures.requests++
        const res = await fetch(`${base}/labs/upload`, { method: 'POST', headers: { authorization: keys.get(labId) ?? '', 'content-type': 'application/json' }, body }).catch(() => undefined)
        if (res?.status === 202) {
          const answer = await res.json() as { rejected: Array<{ index: number }> }
          const refusedIdx = new Set(answer.rejected.map((r) => r.index))
          items.forEach((it, i) => {
            const key = `${it.lab_id}:${it.timestamp}`
            if (refusedIdx.has(i)) refused.add(key)
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
    await sleep(3000); capture()
    workers[0]?.child.kill('SIGKILL'); figures.workerKills++
    await sleep(3000); workers[0] = startApp('apps/worker/src/main.ts', workerEnv)
    await sleep(2000); capture()
    figures.mariadbRestartMs = await restartMariaDb(ownServer as MariaDbServer, { downMs: 1000 })
    await sleep(2000); capture(); await duplicate()
    workers[1]?.child.kill('SIGKILL'); figures.workerKills++
    await sleep(3000); workers[1] = startApp('apps/worker/src/main.ts', workerEnv)
    await sleep(2000); capture(); await duplicate()
  }

  await Promise.all([client(0), client(1), client(2), client(3), faults()])
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
  t.same(storedRefused, [], 'no refused item is stored')
  t.same(extra, [], 'nothing else is stored (each reading once: the primary key is (lab, time))')

  // Rollups against a recomputation from the raw rows, done here in SQL independent of the store's code.
  const minuteDiff = await sql<{ n: number }>`
    SELECT COUNT(*) AS n FROM (
      SELECT lab_id, recorded_at_ms - (recorded_at_ms % 60000) AS b, COUNT(*) AS c, SUM(temperature_milli_c) AS ts, MIN(temperature_milli_c) AS tmin,
             MAX(temperature_milli_c) AS tmax, SUM(humidity_milli_pct) AS hs, MIN(humidity_milli_pct) AS hmin, MAX(humidity_milli_pct) AS hmax
      FROM readings GROUP BY lab_id, recorded_at_ms - (recorded_at_ms % 60000)) raw
    LEFT JOIN reading_rollups_minute m ON m.lab_id = raw.lab_id AND m.bucket_start_ms = raw.b
    WHERE m.lab_id IS NULL OR m.reading_count <> raw.c OR m.temperature_sum <> raw.ts OR m.temperature_min <> raw.tmin OR m.temperature_max <> raw.tmax
       OR m.humidity_sum <> raw.hs OR m.humidity_min <> raw.hmin OR m.humidity_max <> raw.hmax`.execute(database.db)
  const hourDiff = await sql<{ n: number }>`
    SELECT COUNT(*) AS n FROM (
      SELECT lab_id, recorded_at_ms - (recorded_at_ms % 3600000) AS b, COUNT(*) AS c, SUM(temperature_milli_c) AS ts, SUM(humidity_milli_pct) AS hs
      FROM readings GROUP BY lab_id, recorded_at_ms - (recorded_at_ms % 3600000)) raw
    LEFT JOIN reading_rollups_hour h ON h.lab_id = raw.lab_id AND h.bucket_start_ms = raw.b
    WHERE h.lab_id IS NULL OR h.reading_count <> raw.c OR h.temperature_sum <> raw.ts OR h.humidity_sum <> raw.hs`.execute(database.db)
  const rollupRows = await sql<{ n: number }>`SELECT (SELECT COUNT(*) FROM reading_rollups_minute) + (SELECT COUNT(*) FROM reading_rollups_hour) AS n`.execute(database.db)
  t.equal(Number(minuteDiff.rows[0]?.n), 0, 'minute rollups equal a recomputation from raw')
  t.equal(Number(hourDiff.rows[0]?.n), 0, 'hour rollups equal a recomputation from raw')
  t.ok(Number(rollupRows.rows[0]?.n) > 0, 'there are rollups to compare')

  const duplicates = await sql<{ n: number }>`SELECT COUNT(*) - COUNT(DISTINCT lab_id, recorded_at_ms) AS n FROM readings`.execute(database.db)
  const summary = { ...figures, readingsAccepted: accepted.size, readingsRefused: refused.size, readingsStored: stored.size, duplicatesStored: Number(duplicates.rows[0]?.n), lost: lost.length, refusedButStored: storedRefused.length, dlq: queueDepth(queue, queue.dlqName) }
  t.comment(`chaos figures: ${JSON.stringify(summary)}`)
  t.ok(figures.workerKills === 2 && figures.duplicateMessagesInjected > 0 && figures.mariadbRestartMs > 0, 'every fault was injected')
  t.ok(accepted.size > 10_000, `${accepted.size} readings accepted under faults`)
  t.equal(await api.stop(), 0, 'the API exits cleanly')
  for (const w of workers) t.equal(await w.stop(), 0, 'a worker exits cleanly')
})
