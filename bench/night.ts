// `pnpm bench:night`: the nightly burst rehearsed end to end on this machine. `labclimate simulate` uploads one day
// (2,880 readings, gzipped) for each of --labs labs through the real API process, SQS (fauxqs in its own process),
// the real worker process and MariaDB, all co-located. Reports sustained readings/s from the first upload to the last
// reading stored, peak queue depth, freshness of a live reading posted during the burst (p99), GET /labs while the
// burst runs, database growth, API and worker CPU and peak memory; then checks that the stored count and every lab's
// sums (so its average) equal what the simulator says was accepted, from raw rows and from the rollups the averages
// are computed from.
//   node bench/night.ts [--labs 4600] [--concurrency 8] [--consumers 2] [--smoke] [--out DIR]
// --labs 4600 is one tenth of the fleet (13.25 M readings); a smaller number is a quick check (--smoke: 40 labs).
// Runs on a private MariaDB server (like `pnpm test`), or TEST_DATABASE_URL.
import { spawn } from 'node:child_process'
import { readFile, mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs'
import { readEnv } from '@labclimate/config'
import { createSqsClient } from '@labclimate/queue'
import { createApiKey, migrateToLatest, windowTotals } from '@labclimate/store'
import { sql } from 'kysely'
import { freePort, REPO_ROOT } from '@labclimate/testkit/processes'
import { benchDatabase, benchLog, cpuSeconds, machine, round, sleep, startProcess, summarize, waitFor, type Proc, type SqsCounts } from './lib.ts'

const { values: args } = parseArgs({
  options: {
    labs: { type: 'string' },
    concurrency: { type: 'string' },
    consumers: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' }
  }
})
const SMOKE = args.smoke === true
const LABS = Number(args.labs ?? (SMOKE ? 40 : 4600))
const CONCURRENCY = Number(args.concurrency ?? 8)
const CONSUMERS = Number(args.consumers ?? 2)
const OUT = resolve(args.out ?? (SMOKE ? join(tmpdir(), 'labclimate-bench-smoke') : join(REPO_ROOT, 'bench/results')))
const env = readEnv(process.env)
const OWN_SERVER_URL = env.url('TEST_DATABASE_URL', ['mysql'])
env.done()
const PER_DAY = 2880
const FLEET = 46_000
/** The probe's lab: id 1, created first, so the simulator's labs (auto-increment) come after it. */
const PROBE_LAB = 1
const log = benchLog('night')

/** Peak resident memory (VmHWM) of a process, in MiB. */
async function peakRssMiB (pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid ?? 0}/status`, 'utf8').catch(() => '')
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN)
  return round(kb / 1024, 1)
}

const bench = await benchDatabase(OWN_SERVER_URL, log, 2)
const db = bench.db
const DATABASE_URL = bench.url
const procs: Proc[] = []
let failed: unknown
try {
  await migrateToLatest(db)
  const sqsProc = startProcess('bench/sqs-server.ts', {})
  procs.push(sqsProc)
  const sqsPort = await waitFor('SQS server', () => { const m = /\{"port":(\d+)/.exec(sqsProc.output()); return m === null ? undefined : Number(m[1]) }, 30_000)
  const SQS_ENDPOINT = `http://127.0.0.1:${sqsPort}`
  const benchGet = async <T>(path: string): Promise<T> => await (await fetch(`${SQS_ENDPOINT}/__bench/${path}`)).json() as T
  const sqsClient = createSqsClient({ region: 'us-east-1', endpoint: SQS_ENDPOINT, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  const QUEUE_URL = (await sqsClient.send(new GetQueueUrlCommand({ QueueName: 'readings' }))).QueueUrl as string
  sqsClient.destroy()
  const appEnv = {
    DATABASE_URL, SQS_QUEUE_URL: QUEUE_URL, SQS_ENDPOINT, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', LOG_LEVEL: 'warn'
  }

  const port = await freePort()
  const api = startProcess('apps/api/src/server.ts', { ...appEnv, PORT: String(port), HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '1000000' })
  procs.push(api)
  const base = `http://127.0.0.1:${port}`
  await waitFor('API ready', async () => (await fetch(`${base}/health/live`).catch(() => undefined))?.ok, 60_000)
  const worker = startProcess('apps/worker/src/main.ts', {
    ...appEnv, MIGRATE_ON_START: 'false', WORKER_CONSUMERS: String(CONSUMERS), SQS_WAIT_TIME_SECONDS: '1', METRICS_EMF: 'false'
  })
  procs.push(worker)

  // A probe lab posts one live reading a second during the burst and waits to see it in its averages.
  const nowMs = Date.now()
  await db.insertInto('labs').values({ id: PROBE_LAB, name: 'freshness probe', address: 'bench', created_at_ms: nowMs }).execute()
  const probeKey = (await createApiKey(db, { role: 'device', labId: PROBE_LAB, label: 'probe', nowMs })).key
  const readKey = (await createApiKey(db, { role: 'read', label: 'night read', nowMs })).key
  const sizes = async (): Promise<number> => {
    for (const t of ['readings', 'reading_rollups_minute', 'reading_rollups_hour']) await sql.raw(`ANALYZE TABLE ${t}`).execute(db)
    const { rows } = await sql<{ bytes: number }>`SELECT SUM(data_length + index_length) AS bytes FROM information_schema.tables
      WHERE table_schema = ${bench.name}`.execute(db)
    return Number(rows[0]?.bytes ?? 0)
  }
  const bytesBefore = await sizes()

  // The simulator: its own process, fleet created in the database (labs and device keys), then the day batches.
  log(`simulating ${LABS} labs × ${PER_DAY} readings (${(LABS * PER_DAY).toLocaleString('en')}), concurrency ${CONCURRENCY}, gzip`)
  const simArgs = ['simulate', '--url', base, '--labs', String(LABS), '--concurrency', String(CONCURRENCY), '--duration', '86400', '--json']
  const sim = spawn(process.execPath, ['apps/cli/src/main.ts', ...simArgs],
    { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', DATABASE_URL }, stdio: ['ignore', 'pipe', 'pipe'] })
  let simOut = ''
  let simErr = ''
  sim.stdout.on('data', (c: Buffer) => { simOut += c.toString() })
  sim.stderr.on('data', (c: Buffer) => { simErr = (simErr + c.toString()).slice(-5000) })
  const simDone = new Promise<number | null>((resolve) => sim.once('exit', (code) => resolve(code)))
  let simExited = false
  void simDone.then(() => { simExited = true })

  // Monitor: queue depth and stored readings (hour rollups of the fleet's labs: small, exact) every 500 ms.
  const storedNow = async (): Promise<number> => {
    const { rows } = await sql<{ n: number }>`SELECT COALESCE(SUM(reading_count), 0) AS n FROM reading_rollups_hour WHERE lab_id <> ${PROBE_LAB}`.execute(db)
    return Number(rows[0]?.n ?? 0)
  }
  await waitFor('first upload', async () => (await benchGet<SqsCounts>('counts')).send > 0 || simExited, 600_000, 20)
  const tFirst = Date.now()
  log('first upload queued')
  const apiCpu0 = await cpuSeconds(api.child.pid)
  const workerCpu0 = await cpuSeconds(worker.child.pid)
  let peakDepth = 0
  const samples: Array<{ t: number, depth: number, stored: number }> = []
  // the simulator's accepted readings, known once it is done; until then the monitor cannot finish
  let expected = Infinity
  let tLast: number | undefined
  const monitor = (async () => {
    for (;;) {
      const [d, stored] = await Promise.all([benchGet<{ total: number }>('depth'), storedNow()])
      peakDepth = Math.max(peakDepth, d.total)
      samples.push({ t: Date.now() - tFirst, depth: d.total, stored })
      if (stored >= expected && tLast === undefined) { tLast = Date.now(); return }
      await sleep(500)
    }
  })()

  // Freshness probe and GET /labs poller while the burst runs.
  const freshness: number[] = []
  const labsGets: number[] = []
  let probeFailures = 0
  const probing = new AbortController()
  const probe = (async () => {
    let count = 0
    while (!probing.signal.aborted) {
      const tick = Date.now()
      const res = await fetch(`${base}/labs/${PROBE_LAB}/readings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${probeKey}` },
        body: JSON.stringify({ timestamp: tick, temperature: 20, humidity: 50 })
      })
      const accepted = performance.now()
      await res.arrayBuffer()
      if (res.status !== 202) { probeFailures++; await sleep(1000); continue }
      count++
      for (;;) {
        const answer = await fetch(`${base}/labs/${PROBE_LAB}`, { headers: { authorization: `Bearer ${readKey}` } })
        const lab = await answer.json() as { averages: { readings: number } | null }
        if ((lab.averages?.readings ?? 0) >= count) break
        if (performance.now() - accepted > 600_000) { probeFailures++; break }
        await sleep(50)
      }
      freshness.push(performance.now() - accepted)
      await sleep(Math.max(0, 1000 - (Date.now() - tick)))
    }
  })()
  const poller = (async () => {
    while (!probing.signal.aborted) {
      const t = performance.now()
      const res = await fetch(`${base}/labs`, { headers: { authorization: `Bearer ${readKey}` } })
      await res.arrayBuffer()
      if (res.status === 200) labsGets.push(performance.now() - t)
      await sleep(2000)
    }
  })()

  const simCode = await simDone
  if (simCode !== 0) throw new Error(`simulate exited with ${simCode}: ${simErr}`)
  const summary = JSON.parse(simOut.trim().split('\n').at(-1) as string) as {
    readings_accepted: number,
    readings_sent: number,
    requests: number,
    elapsed_s: number,
    readings_per_s: number,
    body_bytes_sent: number,
    errors: Record<string, number>,
    per_lab: Array<{ lab_id: number, accepted: number, sum_temperature_c: number, sum_humidity_pct: number }>
  }
  log(`simulator done: ${summary.readings_accepted} readings accepted in ${summary.elapsed_s} s; waiting for the worker`)
  expected = summary.readings_accepted
  await monitor
  probing.abort()
  await Promise.all([probe, poller])
  const apiCpu = (await cpuSeconds(api.child.pid)) - apiCpu0
  const workerCpu = (await cpuSeconds(worker.child.pid)) - workerCpu0
  const apiPeak = await peakRssMiB(api.child.pid)
  const workerPeak = await peakRssMiB(worker.child.pid)
  const seconds = ((tLast as number) - tFirst) / 1000
  log(`all ${expected} readings stored ${round(seconds)} s after the first upload`)

  // Correctness: the stored count and every lab's sums, from raw rows and from the rollups (through windowTotals,
  // the averages' own code, over a window holding the whole day), equal what the simulator says was accepted.
  const rawRows = (await sql<{ lab_id: number, n: number, t: number, h: number }>`SELECT lab_id, COUNT(*) AS n,
    SUM(temperature_milli_c) AS t, SUM(humidity_milli_pct) AS h FROM readings WHERE lab_id <> ${PROBE_LAB} GROUP BY lab_id`.execute(db)).rows
  const raw = new Map(rawRows.map((r) => [Number(r.lab_id), [Number(r.n), Number(r.t), Number(r.h)]]))
  const minute = 60_000
  const windowStart = Math.floor((tFirst - 2 * 86_400_000) / minute) * minute
  const totals = await windowTotals(db, { startMs: windowStart, endMs: windowStart + 2 * 86_400_000 + 60 * minute })
  const rolled = new Map(totals.filter((x) => x.labId !== PROBE_LAB).map((x) => [x.labId, [x.readingCount, x.temperatureSum, x.humiditySum]]))
  const mismatches: string[] = []
  let storedTotal = 0
  for (const lab of summary.per_lab) {
    const sent = [lab.accepted, Math.round(lab.sum_temperature_c * 1000), Math.round(lab.sum_humidity_pct * 1000)]
    for (const [what, got] of [['raw', raw.get(lab.lab_id)], ['rollups', rolled.get(lab.lab_id)]] as const) {
      if (JSON.stringify(got) !== JSON.stringify(sent)) {
        mismatches.push(`lab ${lab.lab_id} ${what}: stored ${JSON.stringify(got)}, sent ${JSON.stringify(sent)}`)
      }
    }
    storedTotal += raw.get(lab.lab_id)?.[0] ?? 0
  }
  if (raw.size !== summary.per_lab.length) mismatches.push(`${raw.size} labs stored, ${summary.per_lab.length} sent`)
  const bytesAfter = await sizes()
  const rate = summary.readings_accepted / seconds
  const result = {
    date: new Date().toISOString(),
    mode: SMOKE ? 'smoke' : LABS === 4600 ? 'full (4,600 labs, one tenth of the fleet)' : `reduced (${LABS} labs)`,
    machine: machine(bench.serverVersion),
    name: 'Night burst rehearsal: simulate → API → SQS (fauxqs) → worker → MariaDB, all on this machine',
    target: '>= 50,000 readings/s end to end',
    met: rate >= 50_000 && mismatches.length === 0,
    labs: LABS,
    readingsSent: summary.readings_sent,
    readingsAccepted: summary.readings_accepted,
    readingsStored: storedTotal,
    everyLabExact: mismatches.length === 0,
    mismatches: mismatches.slice(0, 20),
    sustainedReadingsPerSecond: Math.round(rate),
    firstUploadToLastStoredSeconds: round(seconds),
    simulator: {
      seconds: summary.elapsed_s,
      acceptedReadingsPerSecond: summary.readings_per_s,
      requests: summary.requests,
      errors: summary.errors,
      gzipBytesPerDayBatch: Math.round(summary.body_bytes_sent / Math.max(1, summary.requests)),
      concurrency: CONCURRENCY
    },
    peakQueueDepthMessages: peakDepth,
    freshnessMs: {
      ...summarize(freshness),
      failures: probeFailures,
      what: 'one live reading a second from a probe lab: 202 to visible in GET /labs/{id}, behind the burst in the same queue'
    },
    getLabsDuringBurstMs: { ...summarize(labsGets), every: '2 s' },
    database: {
      bytesBefore,
      bytesAfter,
      growthBytes: bytesAfter - bytesBefore,
      bytesPerReading: round((bytesAfter - bytesBefore) / Math.max(1, storedTotal), 1),
      note: 'InnoDB data + index length after ANALYZE TABLE (approximate)'
    },
    api: {
      cpuSeconds: round(cpuSecondsOrNaN(apiCpu)),
      cpuCoresAverage: round(apiCpu / seconds),
      peakRssMiB: apiPeak,
      readingsPerCpuSecond: Math.round(summary.readings_accepted / apiCpu)
    },
    worker: {
      consumers: CONSUMERS,
      cpuSeconds: round(cpuSecondsOrNaN(workerCpu)),
      cpuCoresAverage: round(workerCpu / seconds),
      peakRssMiB: workerPeak,
      readingsPerCpuSecond: Math.round(summary.readings_accepted / workerCpu)
    },
    extrapolation: {
      fleetLabs: FLEET,
      fleetReadings: FLEET * PER_DAY,
      apiTasksFor30MinBurst: Math.ceil(FLEET * PER_DAY / 1800 / (summary.readings_accepted / apiCpu) / 0.7),
      workerTasksFor30MinBurst: Math.ceil(FLEET * PER_DAY / 1800 / (summary.readings_accepted / workerCpu) / 0.7),
      note: 'tasks of one vCPU at 70 % busy to take the whole fleet within 30 min, from the CPU-seconds per reading measured here; ' +
        'the database (not measured per vCPU here) is the shared limit'
    },
    timeline: samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 60)) === 0)
  }
  await mkdir(OUT, { recursive: true })
  const file = join(OUT, LABS === 4600 || SMOKE ? 'night.json' : `night-${LABS}.json`)
  await writeFile(file, JSON.stringify(result, null, 2) + '\n')
  const { timeline: _t, ...short } = result
  console.log(JSON.stringify(short, null, 2))
  log(`result: ${file}`)
  if (mismatches.length > 0) throw new Error(`stored data differ from what was sent:\n${mismatches.slice(0, 10).join('\n')}`)
} catch (error) {
  failed = error
  for (const p of procs) process.stderr.write(`--- process output:\n${p.output().slice(-3000)}\n`)
} finally {
  for (const p of procs.slice().reverse()) await p.stop()
  await bench.close()
}
if (failed !== undefined) throw failed

function cpuSecondsOrNaN (x: number): number { return Number.isFinite(x) ? x : NaN }
