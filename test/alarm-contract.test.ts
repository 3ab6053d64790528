// The contract between the alarms and the apps. Synthesizes the prod stack, then runs the real entry
// points (API, worker, maintenance job) as processes with the STAGE their task definitions set, against
// MariaDB and fauxqs, drives each code path an alarm depends on (an upload with an out-of-range reading,
// a stored batch, a database outage, a maintenance run that succeeds and one that fails) and captures
// their stdout. Every business metric an alarm watches must appear there with exactly its namespace,
// name and dimensions: an alarm on a metric nobody emits (or emits under another dimension) fails here.
import { spawn } from 'node:child_process'
import type { Reading } from '@labclimate/contract'
import { synth } from '@labclimate/infra/testing'
import { readEmfLine, type EmfDatum } from '@labclimate/metrics'
import { ReadingsProducer } from '@labclimate/queue'
import { countLabsReporting, createApiKey, createLab, storeReadings } from '@labclimate/store'
import t from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { freePort, REPO_ROOT, startApp, type AppProcess } from '@labclimate/testkit/processes'
import { startTestQueue } from '@labclimate/testkit/sqs'
import { serverOf, startTcpProxy, viaProxy } from '@labclimate/testkit/tcp-proxy'
import { waitFor } from '@labclimate/testkit/wait'

// Synth, three processes and two outages on a shared 2-core machine.
t.setTimeout(400_000)

type Props = Record<string, any>
const template = synth('prod').serviceTemplate
const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties as Props)

/** Every metric an alarm reads outside the AWS/* namespaces: the ones the apps must emit. */
interface Watched { alarm: string, namespace: string, name: string, dimensions: Record<string, string> }
const watched: Watched[] = alarms.flatMap((a) => {
  const metrics: Props[] = a.MetricName !== undefined
    ? [{ Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: a.Dimensions }]
    : (a.Metrics as Props[]).filter((m) => m.MetricStat !== undefined).map((m) => m.MetricStat.Metric)
  return metrics.filter((m) => !String(m.Namespace).startsWith('AWS/')).map((m) => ({
    alarm: a.AlarmName as string,
    namespace: m.Namespace as string,
    name: m.MetricName as string,
    dimensions: Object.fromEntries((m.Dimensions as Props[] ?? []).map((d) => [d.Name, d.Value]))
  }))
})

/** The environment a container of the synthesized template gets (plain values only). */
function containerEnv (container: string): Record<string, string> {
  for (const task of Object.values(template.findResources('AWS::ECS::TaskDefinition'))) {
    for (const c of task.Properties.ContainerDefinitions as Props[]) {
      if (c.Name === container) return Object.fromEntries((c.Environment as Props[]).filter((e) => typeof e.Value === 'string').map((e) => [e.Name, e.Value]))
    }
  }
  throw new Error(`no container ${container} in the template`)
}
const stageOf = (container: string): string => containerEnv(container).STAGE ?? '(no STAGE)'

const emitted = (output: string): EmfDatum[] => output.split('\n').flatMap(readEmfLine)
const key = (d: { namespace: string, name: string, dimensions: Record<string, string> }): string =>
  JSON.stringify([d.namespace, d.name, Object.entries(d.dimensions).sort()])

const T_NOW = Date.now()
const readings = (labId: number, n: number, endMs: number): Reading[] => Array.from({ length: n }, (_, i) => ({
  labId,
  recordedAtMs: endMs - (n - i) * 30_000,
  temperatureMilliC: 21_000 + i,
  humidityMilliPct: 45_000
}))

function runToExit (entry: string, env: Record<string, string>): Promise<{ code: number | null, output: string }> {
  const child = spawn(process.execPath, [entry], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr.on('data', (c: Buffer) => { output += c.toString() })
  return new Promise((resolve) => child.once('close', (code) => { resolve({ code, output }) }))
}

t.test('the alarms watch business metrics at all, each under the Service and Stage dimensions', async (t) => {
  t.same([...new Set(watched.map((w) => w.name))].sort(), [
    'DatabaseReady', 'LabsCompleteLastUpload', 'LabsRegistered', 'LabsReporting24h', 'MaintenanceFailed',
    'MaintenanceSucceeded', 'QueueReady', 'ReadingsOutOfRange', 'WorkerErrors'
  ])
  for (const w of watched) t.same(Object.keys(w.dimensions).sort(), ['Service', 'Stage'], `${w.alarm}: ${w.name}`)
  for (const container of ['api', 'worker', 'maintenance']) t.equal(stageOf(container), 'prod', `the ${container} task sets STAGE`)
})

t.test('every business metric an alarm watches is emitted by the code path that should emit it', async (t) => {
  const queue = await startTestQueue(t, { visibilityTimeoutSeconds: 5 })
  const database = await createTestDatabase(t)
  const proxy = await startTcpProxy(serverOf(database.url))
  t.teardown(proxy.close)
  const throughProxy = viaProxy(database.url, proxy)
  const common = { SQS_QUEUE_URL: queue.queueUrl, SQS_ENDPOINT: queue.endpoint, AWS_REGION: queue.region, LOG_LEVEL: 'warn' }

  // Labs 2 and 3 existed long before any upload window; lab 1 is registered now and uploads live.
  await createLab(database.db, { id: 1, name: 'Lab 1', address: 'B', nowMs: T_NOW })
  for (const id of [2, 3]) await createLab(database.db, { id, name: `Lab ${id}`, address: 'B', nowMs: 0 })
  const device = (await createApiKey(database.db, { role: 'device', labId: 1, label: 'contract', nowMs: T_NOW })).key

  const worker: AppProcess = startApp('apps/worker/src/main.ts', {
    ...common,
    DATABASE_URL: throughProxy,
    STAGE: stageOf('worker'),
    MIGRATE_ON_START: 'false',
    SQS_WAIT_TIME_SECONDS: '1',
    WORKER_CONSUMERS: '1',
    FLEET_REPORT_SECONDS: '1'
  })
  const port = await freePort()
  const api: AppProcess = startApp('apps/api/src/server.ts', {
    ...common,
    DATABASE_URL: throughProxy,
    STAGE: stageOf('api'),
    PORT: String(port),
    HOST: '127.0.0.1',
    READINESS_PROBE_MS: '500'
  })
  t.teardown(async () => { await api.stop(); await worker.stop() })
  const base = `http://127.0.0.1:${port}`
  await waitFor('API up', async () => (await fetch(`${base}/health/live`).catch(() => undefined))?.ok, 30_000)
    .catch((error: unknown) => { throw new Error(`${String(error)}; API said:\n${api.output()}`) })

  // An upload of 120 readings and one out of range (200 °C), through the API to the worker.
  const inRange = readings(1, 120, T_NOW - 60_000).map((r) => ({
    timestamp: r.recordedAtMs,
    temperature: r.temperatureMilliC / 1000,
    humidity: r.humidityMilliPct / 1000
  }))
  const body = [...inRange, { timestamp: T_NOW - 30_000, temperature: 200, humidity: 45 }]
  const res = await fetch(`${base}/labs/1/readings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${device}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  const answer = await res.json() as { accepted: number, rejected: unknown[] }
  t.same([res.status, answer.accepted, answer.rejected.length], [202, 120, 1])

  const sum = (output: string, name: string): number =>
    emitted(output).filter((d) => d.name === name).reduce((a, d) => a + d.values.reduce((x, y) => x + y, 0), 0)
  const values = (output: string, name: string): number[] => emitted(output).filter((d) => d.name === name).flatMap((d) => d.values)
  // EMF is flushed every 10 s.
  await waitFor('the API to report the upload and its readiness', () =>
    sum(api.output(), 'ReadingsOutOfRange') === 1 &&
    values(api.output(), 'DatabaseReady').includes(1) &&
    values(api.output(), 'QueueReady').includes(1), 40_000)
  t.equal(sum(api.output(), 'ReadingsAccepted'), 120)
  t.equal(sum(api.output(), 'ReadingsRejected'), 1)
  await waitFor('the worker to report the stored batch and the labs reporting', () =>
    sum(worker.output(), 'ReadingsStored') === 120 && values(worker.output(), 'LabsReporting24h').includes(1), 40_000)
  t.ok(values(worker.output(), 'BatchDurationMs').length > 0, 'BatchDurationMs for the stored batch')
  t.ok(values(worker.output(), 'EndToEndLagMs').length > 0, 'EndToEndLagMs for the stored batch')
  t.equal(sum(worker.output(), 'WorkerErrors'), 0, 'no errors while the database answers')

  // A database outage: the worker retries (WorkerErrors), the API's probe fails (DatabaseReady 0).
  proxy.cut()
  const producer = new ReadingsProducer({ client: queue.client, queueUrl: queue.queueUrl, maxMessageBytes: 20_000 })
  await producer.enqueue(readings(1, 10, T_NOW - 3 * 3_600_000)) // hours before the first upload: 10 new readings
  await waitFor('WorkerErrors during the outage', () => sum(worker.output(), 'WorkerErrors') >= 1, 40_000)
  await waitFor('DatabaseReady 0 during the outage', () => values(api.output(), 'DatabaseReady').includes(0), 40_000)
  t.ok(values(api.output(), 'QueueReady').every((v) => v === 1), 'the queue stayed ready')

  // A maintenance run that cannot reach the database fails, and says so.
  const failed = await runToExit('apps/worker/src/maintenance-main.ts', { DATABASE_URL: throughProxy, STAGE: stageOf('maintenance'), LOG_LEVEL: 'warn' })
  t.equal(failed.code, 1, 'exit code 1')
  t.equal(sum(failed.output, 'MaintenanceFailed'), 1)
  t.equal(sum(failed.output, 'MaintenanceSucceeded'), 0)
  proxy.restore()
  await waitFor('the batch held during the outage stored', async () => {
    const row = await database.db.selectFrom('readings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    return Number(row.n) === 130
  }, 40_000).catch((error: unknown) => { throw new Error(`${String(error)}; worker said:\n${worker.output().slice(-4000)}`) })

  // A maintenance run that succeeds judges the last upload: labs 2 and 3 uploaded nothing.
  const ok = await runToExit('apps/worker/src/maintenance-main.ts', {
    DATABASE_URL: database.url,
    STAGE: stageOf('maintenance'),
    LOG_LEVEL: 'info',
    ARCHIVE_REQUIRED: 'false'
  })
  t.equal(ok.code, 0, ok.output)
  t.equal(sum(ok.output, 'MaintenanceSucceeded'), 1)
  t.same(values(ok.output, 'LabsRegistered'), [2], 'labs registered before the judged window')
  t.same(values(ok.output, 'LabsCompleteLastUpload'), [0])
  const missing = ok.output.split('\n').filter((l) => l.includes('labs with an incomplete upload')).map((l) => JSON.parse(l) as { missingLabIds: number[] })
  t.same(missing.map((m) => m.missingLabIds), [[2, 3]], 'the missing lab ids, in one searchable line')

  // The contract itself: every watched metric was emitted with exactly these dimensions.
  const seen = new Set([api.output(), worker.output(), failed.output, ok.output].flatMap(emitted).map(key))
  for (const w of watched) t.ok(seen.has(key(w)), `${w.alarm} watches ${w.name} ${JSON.stringify(w.dimensions)}: emitted`)
})

t.test('LabsNotReporting stays quiet through the nightly dip of LabsReporting24h, and fires when a night is missed', async (t) => {
  const alarm = alarms.find((a) => a.AlarmName === 'labclimate-prod-LabsNotReporting') as Props
  const { db } = await createTestDatabase(t)
  await createLab(db, { id: 1, name: 'Lab 1', address: 'B', nowMs: 0 })
  const HOUR = 3_600_000
  const upload = (endMs: number): Reading[] => readings(1, 2880, endMs)
  // Upload of 25 Nov 23:00 UTC stored; the next one (26 Nov 23:00) is stored at 23:40.
  const night1 = Date.UTC(2026, 10, 25, 23)
  const night2 = night1 + 24 * HOUR
  const storedAt = night2 + 40 * 60_000
  await storeReadings(db, upload(night1))
  // The worker's gauge, every 5 minutes, as the real query answers at that moment.
  const samples: Array<[number, number]> = []
  for (let ms = night2 - 6 * HOUR; ms < storedAt; ms += 5 * 60_000) samples.push([ms, await countLabsReporting(db, ms - 24 * HOUR)])
  await storeReadings(db, upload(night2))
  for (let ms = storedAt; ms <= night2 + 6 * HOUR; ms += 5 * 60_000) samples.push([ms, await countLabsReporting(db, ms - 24 * HOUR)])
  t.ok(samples.some(([ms, v]) => ms > night2 - HOUR && ms < storedAt && v === 0), 'the gauge does read 0 between 22:00 and the stored burst')

  /** Evaluates a one-period alarm at `at` the way CloudWatch does: the statistic over the period ending then. */
  const breaches = (rule: { Statistic: string, Period: number, Threshold: number }, at: number, series: Array<[number, number]>): boolean => {
    const inPeriod = series.filter(([ms]) => ms > at - rule.Period * 1000 && ms <= at).map(([, v]) => v)
    if (inPeriod.length === 0) return true // missing data breaches
    const value = rule.Statistic === 'Maximum' ? Math.max(...inPeriod) : Math.min(...inPeriod)
    return value < rule.Threshold
  }
  const nightTimes = samples.map(([ms]) => ms).filter((ms) => ms >= night2 - 3 * HOUR && ms <= night2 + 3 * HOUR)
  t.same(
    nightTimes.filter((at) => breaches(alarm as { Statistic: string, Period: number, Threshold: number }, at, samples)),
    [],
    'the synthesized alarm never breaches on a normal night'
  )
  t.ok(
    nightTimes.some((at) => breaches({ Statistic: 'Minimum', Period: 3600, Threshold: alarm.Threshold }, at, samples)),
    'the former rule (minimum over 1 h) did breach every night'
  )
  // A missed night: without the second upload the count stays 0 from 22:00, and the alarm fires within 3 h.
  const missed = samples.map(([ms, v]): [number, number] => [ms, ms >= storedAt ? 0 : v])
  t.ok(breaches(alarm as { Statistic: string, Period: number, Threshold: number }, night2 + 2 * HOUR + 5 * 60_000, missed), 'a missed upload breaches by 01:05')
})
