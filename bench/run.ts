// `pnpm bench`: the six figures of the performance issue, each against a baseline measured in the same run.
//   node bench/run.ts [--smoke] [--out DIR] [--only 1,2,3,4,5,6] [--rounds N] [--profile DIR]
// --smoke   tiny sizes (under a minute): proves the harness works, the figures mean nothing
// --out     where the JSON results go (default bench/results; smoke: <tmpdir>/labclimate-bench-smoke)
// --rounds  ratio figures 1, 2 and 3 are the median of N rounds (default 3; smoke 2) in which the measured route
//           and its baseline alternate; the per-round ratios' min–max is reported beside it (one run is not a result)
// --profile starts the API and worker processes with --cpu-prof, profiles written to DIR
// Runs on a private MariaDB server of its own, started and stopped like the test suite's
// (test/support/mariadb-server.ts), or on the server at TEST_DATABASE_URL; creates and drops labclimate_bench_* databases. SQS is an in-process fauxqs server behind a counting proxy.
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { CreateQueueCommand, DeleteMessageCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs'
import { readEnv } from '@labclimate/config'
import { createSqsClient } from '@labclimate/queue'
import { connectDatabase, createApiKey, migrateToLatest, windowTotals, type Database } from '@labclimate/store'
import autocannon from 'autocannon'
import { sql, type Kysely } from 'kysely'
import { createConnection, type Connection } from 'mysql2/promise'
import { suiteServer } from '../test/support/mariadb-server.ts'
import { alternateRounds, freePortNumber, machine, median, REPO_ROOT, round, sleep, startProcess, summarize, waitFor, cpuSeconds, type Proc, type SqsCounts } from './lib.ts'

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    rounds: { type: 'string' },
    profile: { type: 'string' }
  }
})
const SMOKE = args.smoke === true
const OUT = resolve(args.out ?? (SMOKE ? join(tmpdir(), 'labclimate-bench-smoke') : join(REPO_ROOT, 'bench/results')))
const ONLY = new Set((args.only ?? '1,2,3,4,5,6').split(',').map(Number))
const ROUNDS = Number(args.rounds ?? (SMOKE ? 2 : 3))
const PROFILE_ARGS = args.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(args.profile)}`]
const env = readEnv(process.env)
const OWN_SERVER_URL = env.url('TEST_DATABASE_URL', ['mysql'])
env.done()

const S = SMOKE
  ? { dayBatches: 12, ingestConnections: 4, liveSeconds: 2, liveConnections: 100, fleetLabs: 300, sampleLabs: 5, allLabsRequests: 20, perLabRequests: 40, directQueries: 2, freshnessSeconds: 3, freshnessLabs: 4, naiveReadings: 200 }
  : { dayBatches: 240, ingestConnections: 8, liveSeconds: 8, liveConnections: 100, fleetLabs: 46_000, sampleLabs: 50, allLabsRequests: 200, perLabRequests: 300, directQueries: 3, freshnessSeconds: 15, freshnessLabs: 10, naiveReadings: 2000 }

const PER_DAY = 2880
const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000
const started = Date.now()
const log = (message: string): void => { process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`) }
const database = await suiteServer(OWN_SERVER_URL, log)
const SERVER_URL = database.url

interface Figure {
  id: number
  name: string
  value: number
  unit: string
  baseline: number | null
  baselineName: string | null
  ratio: number | null
  /** The lowest and highest per-round ratio when `ratio` is the median of alternating rounds. */
  ratioSpread: { min: number, max: number } | null
  target: string
  /** Met only if every correctness check held too: a fast answer that lost readings is no result. */
  met: boolean
  /** What the run checked about its own work (accepted = sent, stored = accepted, baseline did the same work). */
  checks: Record<string, boolean>
  details: Record<string, unknown>
}
const figures: Figure[] = []

// ---------------------------------------------------------------- infrastructure
async function scratchDatabase (admin: Connection): Promise<{ url: string, name: string, db: Kysely<Database> }> {
  const name = `labclimate_bench_${randomBytes(4).toString('hex')}`
  await admin.query(`CREATE DATABASE \`${name}\``)
  const url = new URL(SERVER_URL); url.pathname = `/${name}`
  const db = connectDatabase({ url: url.toString(), poolSize: 4 })
  await migrateToLatest(db)
  return { url: url.toString(), name, db }
}

const admin = await createConnection(SERVER_URL)
const [versionRows] = await admin.query('SELECT VERSION() AS v') as unknown as [Array<{ v: string }>]
const MACHINE = machine(versionRows[0]?.v ?? 'unknown')
const dropLater: string[] = []
const procs: Proc[] = []

const sqsProc = startProcess('bench/sqs-server.ts', {})
const sqsPort = await waitFor('SQS server', () => { const m = /\{"port":(\d+)/.exec(sqsProc.output()); return m === null ? undefined : Number(m[1]) }, 30_000)
const SQS_ENDPOINT = `http://127.0.0.1:${sqsPort}`
const benchGet = async <T>(path: string): Promise<T> => await (await fetch(`${SQS_ENDPOINT}/__bench/${path}`, { method: path === 'reset' ? 'POST' : 'GET' })).json() as T
const counter = { reset: async () => { await benchGet('reset') }, counts: async () => await benchGet<SqsCounts>('counts') }
const sqsClient = createSqsClient({ region: 'us-east-1', endpoint: SQS_ENDPOINT, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
const QUEUE_URL = (await sqsClient.send(new GetQueueUrlCommand({ QueueName: 'readings' }))).QueueUrl as string
sqsClient.destroy()
const depth = async (): Promise<{ ready: number, inflight: number, total: number }> => await benchGet('depth')

function appEnv (databaseUrl: string): Record<string, string> {
  return { DATABASE_URL: databaseUrl, SQS_QUEUE_URL: QUEUE_URL, SQS_ENDPOINT, AWS_REGION: 'us-east-1', LOG_LEVEL: 'warn' }
}

async function startApi (databaseUrl: string, extra: Record<string, string> = {}): Promise<{ proc: Proc, base: string }> {
  const port = await freePortNumber()
  const proc = startProcess('apps/api/src/server.ts', { ...appEnv(databaseUrl), PORT: String(port), HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '1000000', ...extra }, PROFILE_ARGS)
  procs.push(proc)
  const base = `http://127.0.0.1:${port}`
  await waitFor('API ready', async () => (await fetch(`${base}/health/live`).catch(() => undefined))?.ok, 30_000)
    .catch((error: unknown) => { throw new Error(`${String(error)}; API said:\n${proc.output()}`) })
  return { proc, base }
}

async function startBare (): Promise<{ proc: Proc, base: string }> {
  const port = await freePortNumber()
  const proc = startProcess('bench/bare-server.ts', { PORT: String(port) })
  procs.push(proc)
  await waitFor('bare server', () => proc.output().includes('listening'), 30_000)
  return { proc, base: `http://127.0.0.1:${port}` }
}

function startWorker (databaseUrl: string): Proc {
  const proc = startProcess('apps/worker/src/main.ts', { ...appEnv(databaseUrl), MIGRATE_ON_START: 'false', WORKER_CONSUMERS: '2', SQS_WAIT_TIME_SECONDS: '1' }, PROFILE_ARGS)
  procs.push(proc)
  return proc
}

async function stopProc (proc: Proc): Promise<void> {
  await proc.stop()
  procs.splice(procs.indexOf(proc), 1)
}

// ---------------------------------------------------------------- data
interface Row { labId: number, ms: number, t: number, h: number }
function labDay (labId: number, dayStartMs: number): Row[] {
  return Array.from({ length: PER_DAY }, (_, i) => ({ labId, ms: dayStartMs + i * 30_000, t: 20_000 + ((i * 7 + labId) % 100) * 50, h: 40_000 + ((i * 11 + labId) % 200) * 100 }))
}
/** A device's day as it uploads it to /labs/upload: ~96 bytes a reading, ~280 KB a day. */
function dayBody (rows: readonly Row[]): Buffer {
  return Buffer.from('[' + rows.map((r) => `{"lab_id":${r.labId},"timestamp":"${new Date(r.ms).toISOString()}","temperature":"${(r.t / 1000).toFixed(2)}°C","humidity":"${(r.h / 1000).toFixed(1)}%"}`).join(',') + ']')
}

async function createLabsAndKeys (db: Kysely<Database>, ids: readonly number[]): Promise<Map<number, string>> {
  const nowMs = Date.now()
  await db.insertInto('labs').values(ids.map((id) => ({ id, name: `Lab ${id}`, address: 'bench', created_at_ms: nowMs }))).execute()
  const keys = new Map<number, string>()
  for (const id of ids) keys.set(id, (await createApiKey(db, { role: 'device', labId: id, label: `bench ${id}`, nowMs })).key)
  return keys
}

/**
 * An autocannon run; `seconds` runs from the start to the last response, measured here (autocannon's own
 * duration is whole seconds, and it reports the end of an `amount` run only at its next 1 s tick).
 */
async function cannon (opts: autocannon.Options): Promise<autocannon.Result & { seconds: number }> {
  const t = performance.now()
  let last = t
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(opts, (error, r) => { if (error !== null && error !== undefined) reject(error); else resolve(r) })
    instance.on('response', () => { last = performance.now() })
  })
  return { ...result, seconds: (last - t) / 1000 }
}

function record (f: Omit<Figure, 'ratio' | 'ratioSpread'> & { ratio?: number | null, ratioSpread?: Figure['ratioSpread'] }): void {
  const ratio = f.ratio !== undefined ? f.ratio : (f.baseline === null || f.baseline === 0 ? null : round(f.value / f.baseline, 3))
  const ratioSpread = f.ratioSpread ?? null
  const failedChecks = Object.entries(f.checks).filter(([, ok]) => !ok).map(([what]) => what)
  figures.push({ ...f, ratio, ratioSpread, met: f.met && failedChecks.length === 0 })
  log(`figure ${f.id}: ${f.name} = ${f.value} ${f.unit}${ratio === null ? '' : ` (ratio ${ratio}${ratioSpread === null ? '' : `, ${ratioSpread.min}–${ratioSpread.max}`})`}`)
  if (failedChecks.length > 0) log(`figure ${f.id}: NOT CORRECT, so not met: ${failedChecks.join('; ')}`)
}

/** Figure 5's baseline: one message per reading through the same counting SQS server; requests per million readings. */
async function naiveQueueCost (rows: readonly Row[]): Promise<{ sent: number, received: number, requests: number, perMillion: number }> {
  const client = createSqsClient({ region: 'us-east-1', endpoint: SQS_ENDPOINT, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  try {
    const queueUrl = (await client.send(new CreateQueueCommand({ QueueName: 'naive-one-per-reading' }))).QueueUrl as string
    const before = await counter.counts()
    for (const r of rows) await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(r) }))
    let received = 0
    for (;;) {
      const got = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 }))
      const m = got.Messages?.[0]
      if (m === undefined) break
      received++
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }))
    }
    const after = await counter.counts()
    const requests = (after.send - before.send) + (after.receive - before.receive) + (after.delete - before.delete)
    return { sent: rows.length, received, requests, perMillion: requests / Math.max(1, rows.length) * 1e6 }
  } finally { client.destroy() }
}

// ---------------------------------------------------------------- figures 1, 3, 5, 2, 6 (one database)
async function ingestPipeline (): Promise<void> {
  const main = await scratchDatabase(admin)
  dropLater.push(main.name)
  const todayStart = Math.floor(Date.now() / DAY_MS) * DAY_MS
  // Each round uploads days of labs of its own (six past days a lab), so every round's readings are new to the store.
  const labsPerRound = Math.ceil(S.dayBatches / 6)
  const pairsByRound = Array.from({ length: ROUNDS }, (_, r) => Array.from({ length: S.dayBatches }, (_, i) => ({ labId: 1 + r * labsPerRound + Math.floor(i / 6), day: 1 + (i % 6) })))
  const labIds = [...new Set(pairsByRound.flat().map((p) => p.labId))]
  const keys = await createLabsAndKeys(main.db, labIds)
  const readKey = (await createApiKey(main.db, { role: 'read', label: 'bench read', nowMs: Date.now() })).key
  log(`building ${ROUNDS} × ${S.dayBatches} day bodies`)
  const bodiesByRound = pairsByRound.map((pairs) => pairs.map((p) => ({ labId: p.labId, rows: labDay(p.labId, todayStart - p.day * DAY_MS) })))
  const payloadsByRound = bodiesByRound.map((bodies) => bodies.map((b) => dayBody(b.rows)))
  const avgBytes = Math.round((payloadsByRound[0] as Buffer[]).reduce((a, b) => a + b.length, 0) / S.dayBatches)

  const bare = await startBare()
  const api = await startApi(main.url)
  const cycle = (payloads: readonly Buffer[], path: string, headers: (i: number) => Record<string, string>): autocannon.Request[] => {
    let next = 0
    return [{
      method: 'POST',
      setupRequest: (req) => {
        const i = next++ % payloads.length
        return { ...req, path, headers: { 'content-type': 'application/json', ...headers(i) }, body: payloads[i] }
      }
    }]
  }

  if (ONLY.has(1) || ONLY.has(3) || ONLY.has(5)) {
    // warm the bare process (JIT) with a few requests that are not counted (the API's would be stored)
    await cannon({ url: bare.base, amount: 6, connections: 2, requests: cycle(payloadsByRound[0] as Buffer[], '/ingest', () => ({})) })
    await counter.reset()
    await sql.raw('CREATE TABLE readings_bare LIKE readings').execute(main.db)
    type Run = autocannon.Result & { seconds: number }
    const rps = (r: { '2xx': number, seconds: number }): number => r['2xx'] / r.seconds
    const f1 = { api: [] as Run[], bare: [] as Run[], apiCpu: [] as number[], sqsCpu: [] as number[], sendCalls: 0 }
    const f3 = { messages: [] as number[], drainSeconds: [] as number[], workerCpu: [] as number[], bareRows: [] as number[], bareSeconds: [] as number[] }
    log(`figures 1 and 3: ${ROUNDS} rounds, each the API then the worker against their baselines, in alternating order`)
    const result = await alternateRounds(ROUNDS, {
      'figure 1': {
        baseline: async (r) => {
          const run = await cannon({ url: bare.base, amount: S.dayBatches, connections: S.ingestConnections, timeout: 30, requests: cycle(payloadsByRound[r] as Buffer[], '/ingest', () => ({})) })
          f1.bare.push(run)
          return rps(run) * PER_DAY
        },
        measured: async (r) => {
          const bodies = bodiesByRound[r] as Array<{ labId: number }>
          const sends = (await counter.counts()).send
          const cpu = await cpuSeconds(api.proc.child.pid)
          const sqsCpu = await cpuSeconds(sqsProc.child.pid)
          const run = await cannon({ url: api.base, amount: S.dayBatches, connections: S.ingestConnections, timeout: 30, requests: cycle(payloadsByRound[r] as Buffer[], '/labs/upload', (i) => ({ authorization: `Bearer ${keys.get(bodies[i]?.labId as number) as string}` })) })
          f1.apiCpu.push((await cpuSeconds(api.proc.child.pid)) - cpu)
          f1.sqsCpu.push((await cpuSeconds(sqsProc.child.pid)) - sqsCpu)
          f1.sendCalls += (await counter.counts()).send - sends
          if (run.non2xx > 0 || run.errors > 0) log(`warning: ${run.non2xx} non-2xx, ${run.errors} errors from the API`)
          f1.api.push(run)
          return rps(run) * PER_DAY
        }
      },
      // ---- figure 3: the worker drains what the API queued this round
      'figure 3': {
        measured: async (r) => {
          const queued = (await depth()).total
          const worker = startWorker(main.url)
          const wcpu0 = await cpuSeconds(worker.child.pid)
          await waitFor('worker takes messages', async () => { const d = await depth(); return d.inflight > 0 || d.total < queued }, 60_000, 5)
          const t0 = performance.now()
          await waitFor('queue drained', async () => (await depth()).total === 0, 300_000, 10)
          const drainSeconds = (performance.now() - t0) / 1000
          f3.workerCpu.push((await cpuSeconds(worker.child.pid)) - wcpu0)
          await stopProc(worker)
          f3.messages.push(queued)
          f3.drainSeconds.push(drainSeconds)
          return ((f1.api[r] as Run)['2xx'] * PER_DAY) / drainSeconds
        },
        // bare multi-row INSERT of the same rows (same PK, no rollups) into a table that grows round by round like `readings`
        baseline: async (r) => {
          const bodies = (bodiesByRound[r] as Array<{ rows: Row[] }>).slice(0, (f1.api[r] as Run)['2xx'])
          const groups: Row[][] = []
          for (let i = 0; i < bodies.length; i += 10) groups.push(bodies.slice(i, i + 10).flatMap((b) => b.rows).sort((a, b) => a.labId - b.labId || a.ms - b.ms))
          const conns = await Promise.all([0, 1].map(async () => await createConnection(main.url)))
          const tb = performance.now()
          let gi = 0
          await Promise.all(conns.map(async (conn) => {
            for (;;) {
              const g = groups[gi++]
              if (g === undefined) return
              await conn.beginTransaction()
              for (let i = 0; i < g.length; i += 2000) await conn.query('INSERT INTO readings_bare (lab_id, recorded_at_ms, temperature_milli_c, humidity_milli_pct) VALUES ?', [g.slice(i, i + 2000).map((x) => [x.labId, x.ms, x.t, x.h])])
              await conn.commit()
            }
          }))
          const seconds = (performance.now() - tb) / 1000
          await Promise.all(conns.map(async (c) => await c.end()))
          const rows = groups.reduce((a, g) => a + g.length, 0)
          f3.bareRows.push(rows)
          f3.bareSeconds.push(seconds)
          return rows / seconds
        }
      }
    }, log)

    const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)
    const ok = sum(f1.api.map((x) => x['2xx']))
    const readingsQueued = ok * PER_DAY
    const r1 = result['figure 1']
    const apiCpu = sum(f1.apiCpu)
    record({
      id: 1, name: 'Day-batch ingest (2,880 readings a request)', value: Math.round(median(r1.measured)), unit: 'readings/s (median of rounds)', baseline: Math.round(median(r1.baseline)), baselineName: 'bare Fastify: parse body, 202',
      ratio: r1.ratio, ratioSpread: r1.ratioSpread, target: 'ratio >= 0.70', met: r1.ratio >= 0.7,
      checks: {
        'the API answered 202 to every day batch sent, every round': f1.api.every((x) => x['2xx'] === S.dayBatches && x.non2xx === 0 && x.errors === 0),
        'the baseline answered 202 to every day batch sent, every round': f1.bare.every((x) => x['2xx'] === S.dayBatches && x.non2xx === 0 && x.errors === 0),
        'the queue holds every accepted reading (checked with figure 3: stored = accepted)': true
      },
      details: {
        rounds: f1.api.map((x, i) => ({ apiReadingsPerSecond: Math.round(r1.measured[i] as number), baselineReadingsPerSecond: Math.round(r1.baseline[i] as number), ratio: r1.ratios[i], apiSeconds: round(x.seconds), baselineSeconds: round((f1.bare[i] as Run).seconds), apiLatencyMs: { p50: x.latency.p50, p99: x.latency.p99 }, baselineLatencyMs: { p50: (f1.bare[i] as Run).latency.p50, p99: (f1.bare[i] as Run).latency.p99 }, apiCpuSeconds: round(f1.apiCpu[i] as number) })),
        order: 'baseline first in odd-numbered rounds (1, 3, …), the API first in even-numbered ones',
        requests: sum(f1.api.map((x) => x.requests.total)), accepted202: ok, bodyBytes: avgBytes, connections: S.ingestConnections, apiCpuSeconds: round(apiCpu), readingsPerApiCpuSecond: Math.round(readingsQueued / apiCpu), fakeSqsCpuSeconds: round(sum(f1.sqsCpu)), note: 'the fake SQS (fauxqs) runs on the same 2 cores; in AWS it does not'
      }
    })

    const allCounts = await counter.counts()
    const queued = sum(f3.messages)
    const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM readings`.execute(main.db)
    const stored = Number(rows[0]?.n)
    const hourRows = Number((await sql<{ n: number }>`SELECT COUNT(*) AS n FROM reading_rollups_hour`.execute(main.db)).rows[0]?.n)
    const rollupReadings = Number((await sql<{ n: number }>`SELECT COALESCE(SUM(reading_count), 0) AS n FROM reading_rollups_hour`.execute(main.db)).rows[0]?.n)
    const bareStored = Number((await sql<{ n: number }>`SELECT COUNT(*) AS n FROM readings_bare`.execute(main.db)).rows[0]?.n)
    const bareRows = sum(f3.bareRows)
    const r3 = result['figure 3']
    const workerRate = median(r3.measured)
    record({
      id: 3, name: 'Worker drain into MariaDB (with rollups)', value: Math.round(workerRate), unit: 'readings/s (median of rounds)', baseline: Math.round(median(r3.baseline)), baselineName: 'bare multi-row INSERT, same PK, no rollups, 2 connections',
      ratio: r3.ratio, ratioSpread: r3.ratioSpread, target: 'ratio >= 0.60 and >= 30,000 readings/s', met: r3.ratio >= 0.6 && workerRate >= 30_000,
      checks: {
        'stored = accepted (every reading answered 202 in figure 1 is a row)': stored === readingsQueued,
        'the hour rollups count every stored reading once': rollupReadings === readingsQueued,
        'the baseline inserted the same number of rows': bareStored === bareRows && bareRows === readingsQueued
      },
      details: {
        rounds: f3.drainSeconds.map((s, i) => ({ workerReadingsPerSecond: Math.round(r3.measured[i] as number), baselineReadingsPerSecond: Math.round(r3.baseline[i] as number), ratio: r3.ratios[i], messages: f3.messages[i], drainSeconds: round(s), baselineSeconds: round(f3.bareSeconds[i] as number), workerCpuSeconds: round(f3.workerCpu[i] as number) })),
        order: 'baseline first in odd-numbered rounds (1, 3, …), the worker first in even-numbered ones; each round adds new labs to both tables',
        messages: queued, readings: readingsQueued, stored, hourRollupRows: hourRows, workerCpuSeconds: round(sum(f3.workerCpu)), readingsPerWorkerCpuSecond: Math.round(readingsQueued / sum(f3.workerCpu)), consumers: 2, sqsBatchSize: 10
      }
    })

    // ---- figure 5: requests counted at the SQS server for these API -> queue -> worker rounds
    const sqsRequests = allCounts.send + allCounts.receive + allCounts.delete
    const perMillion = sqsRequests / readingsQueued * 1e6
    // The baseline, measured on the same counting SQS server: a naive pipeline, one message per reading, sent,
    // received and deleted one at a time, for a sample of the same readings (on a queue of its own).
    log('figure 5: baseline, one message per reading (send, receive, delete) for a sample')
    const naive = await naiveQueueCost((bodiesByRound[0] as Array<{ rows: Row[] }>).slice(0, 1).flatMap((b) => b.rows).slice(0, S.naiveReadings))
    record({
      id: 5, name: 'Queue cost (send + receive + delete)', value: Math.round(perMillion), unit: 'SQS requests per million readings', baseline: Math.round(naive.perMillion), baselineName: 'naive, measured: one message per reading (send, receive, delete)',
      target: '<= 10,000', met: perMillion <= 10_000,
      checks: {
        'stored = accepted for the counted run (figure 3)': stored === readingsQueued,
        'the baseline received and deleted every message it sent': naive.received === naive.sent && naive.sent === S.naiveReadings
      },
      details: { baselineSample: naive, readings: readingsQueued, messages: queued, readingsPerMessage: round(readingsQueued / Math.max(1, queued)), sendCallsDuringIngest: f1.sendCalls, counts: allCounts, note: 'receives include empty long polls while the worker waited; other = health checks, heartbeats' }
    })
  }

  if (ONLY.has(2)) {
    const labId = labIds[0] as number
    const one = Buffer.from(JSON.stringify({ timestamp: new Date(Date.now() - 60_000).toISOString(), temperature: '21.5°C', humidity: '45%' }))
    // The like-for-like baseline: bare Fastify parsing the same one-reading body POSTed on the same connections.
    const bareOpts = { url: `${bare.base}/ingest`, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: one, connections: S.liveConnections }
    const liveOpts = { url: `${api.base}/labs/${labId}/readings`, method: 'POST' as const, headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.get(labId) as string}` }, body: one, connections: S.liveConnections }
    type Run = autocannon.Result & { seconds: number }
    const f2 = { live: [] as Run[], bare: [] as Run[], liveCpu: [] as number[] }
    log(`figure 2: ${ROUNDS} rounds, one reading a request through the API against a bare Fastify POST of the same body`)
    const r2 = (await alternateRounds(ROUNDS, {
      'figure 2': {
        baseline: async () => {
          await cannon({ ...bareOpts, duration: 1 })
          const run = await cannon({ ...bareOpts, duration: S.liveSeconds })
          f2.bare.push(run)
          return run['2xx'] / run.seconds
        },
        measured: async () => {
          await cannon({ ...liveOpts, duration: 1 })
          const cpu = await cpuSeconds(api.proc.child.pid)
          const run = await cannon({ ...liveOpts, duration: S.liveSeconds })
          f2.liveCpu.push((await cpuSeconds(api.proc.child.pid)) - cpu)
          f2.live.push(run)
          return run['2xx'] / run.seconds
        }
      }
    }, log))['figure 2']
    const everyOk = (runs: Run[]): boolean => runs.every((x) => x.non2xx === 0 && x.errors === 0 && x['2xx'] === x.requests.total)
    const liveCpu = f2.liveCpu.reduce((a, b) => a + b, 0)
    record({
      id: 2, name: 'Live single readings', value: Math.round(median(r2.measured)), unit: 'requests/s (median of rounds)', baseline: Math.round(median(r2.baseline)), baselineName: 'bare Fastify: POST of the same body, parse, 202; same connections',
      ratio: r2.ratio, ratioSpread: r2.ratioSpread, target: 'ratio >= 0.50', met: r2.ratio >= 0.5,
      checks: {
        'the API answered 202 to every request, every round (accepted = sent)': everyOk(f2.live),
        'the baseline answered 202 to every request, every round': everyOk(f2.bare)
      },
      details: {
        rounds: f2.live.map((x, i) => ({ apiRequestsPerSecond: Math.round(r2.measured[i] as number), baselineRequestsPerSecond: Math.round(r2.baseline[i] as number), ratio: r2.ratios[i], latencyMs: { p50: x.latency.p50, p90: x.latency.p90, p99: x.latency.p99, max: x.latency.max }, baselineLatencyMs: { p50: (f2.bare[i] as Run).latency.p50, p99: (f2.bare[i] as Run).latency.p99 }, apiCpuSeconds: round(f2.liveCpu[i] as number), non2xx: x.non2xx, errors: x.errors })),
        order: 'baseline first in odd-numbered rounds (1, 3, …), the API first in even-numbered ones; each run after 1 s of uncounted warm-up',
        connections: S.liveConnections, seconds: S.liveSeconds, apiCpuSeconds: round(liveCpu), requestsPerApiCpuSecond: Math.round(f2.live.reduce((a, x) => a + x['2xx'], 0) / liveCpu)
      }
    })
  }

  if (ONLY.has(6)) {
    const worker = startWorker(main.url)
    await waitFor('queue drained before freshness', async () => (await depth()).total === 0, 120_000, 20)
    const freshIds = Array.from({ length: S.freshnessLabs }, (_, i) => 900_000 + i)
    const freshKeys = await createLabsAndKeys(main.db, freshIds)
    const read = { authorization: `Bearer ${readKey}` }
    log(`figure 6: freshness, ${freshIds.length} labs posting one reading every 500 ms for ${S.freshnessSeconds} s`)
    const latencies: number[] = []
    const until = Date.now() + S.freshnessSeconds * 1000
    let failures = 0
    await Promise.all(freshIds.map(async (labId, k) => {
      await sleep(k * 500 / freshIds.length)
      let count = 0
      while (Date.now() < until) {
        const tick = Date.now()
        const res = await fetch(`${api.base}/labs/${labId}/readings`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${freshKeys.get(labId) as string}` }, body: JSON.stringify({ timestamp: tick, temperature: 20 + (count % 10), humidity: 50 }) })
        const accepted = performance.now()
        await res.arrayBuffer()
        if (res.status !== 202) { failures++; continue }
        count++
        for (;;) {
          const lab = await (await fetch(`${api.base}/labs/${labId}`, { headers: read })).json() as { averages: { readings: number } | null }
          if ((lab.averages?.readings ?? 0) >= count) break
          if (performance.now() - accepted > 30_000) { failures++; break }
          await sleep(10)
        }
        latencies.push(performance.now() - accepted)
        await sleep(Math.max(0, 500 - (Date.now() - tick)))
      }
    }))
    await stopProc(worker)
    const s = summarize(latencies)
    record({
      id: 6, name: 'Freshness: 202 to visible in GET /labs/{id} averages', value: s.p99, unit: 'ms (p99)', baseline: null, baselineName: null,
      target: 'p99 <= 2,000 ms', met: s.p99 <= 2000,
      checks: { 'every reading was answered 202 and then seen in the averages': failures === 0 && latencies.length > 0 },
      details: { ...s, failures, readingsPerSecond: freshIds.length * 2, pollEveryMs: 10, workerLongPollSeconds: 1 }
    })
  }
  await stopProc(api.proc)
  await stopProc(bare.proc)
  await main.db.destroy()
}

// ---------------------------------------------------------------- figure 4 (its own database)
async function fleetAverages (): Promise<void> {
  const fleet = await scratchDatabase(admin)
  dropLater.push(fleet.name)
  const conn = await createConnection(fleet.url)
  const q = async (text: string): Promise<void> => { await conn.query(text) }
  const L = S.fleetLabs
  const SAMPLE = S.sampleLabs
  const nowMs = Date.now()
  const endMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS
  const startMs = endMs - DAY_MS
  const firstHour = Math.ceil(startMs / HOUR_MS) * HOUR_MS
  const lastHour = Math.floor(endMs / HOUR_MS) * HOUR_MS
  const MARGIN = 2 * MINUTE_MS // the window moves while we measure
  log(`figure 4: generating rollups for ${L} labs`)
  const tg = performance.now()
  await q('CREATE TABLE nums (n INT PRIMARY KEY)')
  await q('INSERT INTO nums SELECT a.n + 10*b.n + 100*c.n + 1000*d.n + 10000*e.n FROM (SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a, (SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b, (SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c, (SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) d, (SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) e')
  await q(`INSERT INTO labs (id, name, address, created_at_ms) SELECT n + 1, CONCAT('Lab ', n + 1), 'bench', ${nowMs} FROM nums WHERE n < ${L}`)
  const cols = '(lab_id, bucket_start_ms, reading_count, temperature_sum, temperature_min, temperature_max, humidity_sum, humidity_min, humidity_max)'
  // a lab's values: 2 readings a minute, 120 an hour
  const vals = (count: number): string => `${count}, ${count} * (20000 + (l.n % 50) * 100), 19500 + (l.n % 50) * 100, 20500 + (l.n % 50) * 100, ${count} * 45000, 44000, 46000`
  const hour0 = Math.floor(startMs / HOUR_MS) * HOUR_MS - HOUR_MS
  const hours = Math.ceil((endMs + HOUR_MS - hour0) / HOUR_MS)
  await q(`INSERT INTO reading_rollups_hour ${cols} SELECT l.n + 1, ${hour0} + h.n * ${HOUR_MS}, ${vals(120)} FROM nums l JOIN nums h ON h.n < ${hours} WHERE l.n < ${L}`)
  // minute rollups: every minute of the day for the sample labs, the two partial-hour edges (± margin) for the others
  const minute0 = startMs - MARGIN
  const minutes = (endMs + MARGIN - minute0) / MINUTE_MS
  const edge = (at: number): boolean => (at >= startMs - MARGIN && at < firstHour + MARGIN) || (at >= lastHour - MARGIN && at < endMs + MARGIN)
  const edgeOffsets = Array.from({ length: minutes }, (_, i) => i).filter((i) => edge(minute0 + i * MINUTE_MS))
  await q(`INSERT INTO reading_rollups_minute ${cols} SELECT l.n + 1, ${minute0} + m.n * ${MINUTE_MS}, ${vals(2)} FROM nums l JOIN nums m ON m.n < ${minutes} WHERE l.n < ${SAMPLE}`)
  await q(`CREATE TABLE edge_minutes (n INT PRIMARY KEY)`)
  await conn.query('INSERT INTO edge_minutes (n) VALUES ?', [edgeOffsets.map((n) => [n])])
  await q(`INSERT INTO reading_rollups_minute ${cols} SELECT l.n + 1, ${minute0} + m.n * ${MINUTE_MS}, ${vals(2)} FROM nums l JOIN edge_minutes m WHERE l.n >= ${SAMPLE} AND l.n < ${L}`)
  // raw readings at 1x for the sample labs: one every 30 s over the window
  await q(`INSERT INTO readings SELECT l.n + 1, ${startMs} + m.n * 30000, 20000 + (l.n % 50) * 100, 45000 FROM nums l JOIN nums m ON m.n < ${PER_DAY} WHERE l.n < ${SAMPLE}`)
  for (const t of ['readings', 'reading_rollups_minute', 'reading_rollups_hour']) await q(`ANALYZE TABLE ${t}`)
  const count = async (t: string): Promise<number> => { const [r] = await conn.query(`SELECT COUNT(*) AS n FROM ${t}`) as unknown as [Array<{ n: number }>]; return Number(r[0]?.n) }
  const rowCounts = async (): Promise<Record<string, number>> => ({ readings: await count('readings'), minuteRollups: await count('reading_rollups_minute'), hourRollups: await count('reading_rollups_hour') })
  const generated = await rowCounts()
  const generateSeconds = round((performance.now() - tg) / 1000, 1)
  log(`figure 4: generated ${JSON.stringify(generated)} in ${generateSeconds} s`)

  const readKey = (await createApiKey(fleet.db, { role: 'read', label: 'bench read', nowMs })).key
  const api = await startApi(fleet.url)
  const headers = { authorization: `Bearer ${readKey}` }
  const timeGets = async (path: (i: number) => string, n: number, capMs: number): Promise<ReturnType<typeof summarize> & { bytes: number, labs?: number }> => {
    const times: number[] = []
    let bytes = 0
    let labs: number | undefined
    const stop = performance.now() + capMs
    for (let i = 0; i < n && performance.now() < stop; i++) {
      const t = performance.now()
      const res = await fetch(`${api.base}${path(i)}`, { headers })
      const body = Buffer.from(await res.arrayBuffer())
      times.push(performance.now() - t)
      if (res.status !== 200) throw new Error(`GET ${path(i)} answered ${res.status}: ${body.toString('utf8', 0, 300)}`)
      bytes = body.length
      if (i === 0 && body[0] === 0x5b) labs = (JSON.parse(body.toString()) as unknown[]).length
    }
    return { ...summarize(times), bytes, ...(labs === undefined ? {} : { labs }) }
  }
  const direct = async (): Promise<ReturnType<typeof summarize>> => {
    const times: number[] = []
    for (let i = 0; i < S.directQueries; i++) {
      const t = performance.now()
      const end = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS + MINUTE_MS
      await windowTotals(fleet.db, { startMs: end - DAY_MS, endMs: end })
      times.push(performance.now() - t)
    }
    return summarize(times)
  }
  const measure = async (): Promise<Record<string, unknown>> => {
    const query = await direct()
    const allLabs = await timeGets(() => '/labs', S.allLabsRequests, 45_000)
    const sampleLab = (i: number): number => 1 + (i * 7919) % SAMPLE
    const labDetail = await timeGets((i) => `/labs/${sampleLab(i)}`, S.perLabRequests, 20_000)
    const series = await timeGets((i) => `/labs/${sampleLab(i)}/readings`, S.perLabRequests, 20_000)
    return { rows: await rowCounts(), windowTotalsQueryMs: query, getLabsMs: allLabs, getLabDetailMs: labDetail, getSeriesMinute24hMs: series }
  }
  log('figure 4: measuring at 1x raw volume')
  const at1 = await measure()
  log('figure 4: adding raw readings up to 10x (one every 3 s) for the sample labs')
  await q(`INSERT INTO readings SELECT l.n + 1, ${startMs} + m.n * 3000, 20000 + (l.n % 50) * 100, 45000 FROM nums l JOIN nums m ON m.n < ${PER_DAY * 10} AND m.n % 10 <> 0 WHERE l.n < ${SAMPLE}`)
  await q(`UPDATE reading_rollups_minute SET reading_count = reading_count * 10, temperature_sum = temperature_sum * 10, humidity_sum = humidity_sum * 10 WHERE lab_id <= ${SAMPLE}`)
  await q('ANALYZE TABLE readings')
  log('figure 4: measuring at 10x raw volume')
  const at10 = await measure()
  await conn.end()
  await stopProc(api.proc)
  await fleet.db.destroy()
  const p = (m: Record<string, unknown>, k: string): number => (m[k] as { p99: number }).p99
  const labsP99 = Math.max(p(at1, 'getLabsMs'), p(at10, 'getLabsMs'))
  const perLabP99 = Math.max(p(at1, 'getLabDetailMs'), p(at10, 'getLabDetailMs'), p(at1, 'getSeriesMinute24hMs'), p(at10, 'getSeriesMinute24hMs'))
  record({
    id: 4, name: `GET /labs p99, ${L.toLocaleString('en')} labs × 24 h`, value: labsP99, unit: 'ms (p99)', baseline: null, baselineName: null,
    ratio: round(p(at10, 'getLabsMs') / p(at1, 'getLabsMs'), 3),
    target: 'GET /labs p99 <= 100 ms; per-lab series and averages p99 <= 10 ms; flat from 1x to 10x raw', met: labsP99 <= 100 && perLabP99 <= 10,
    checks: {
      'GET /labs answered one entry per lab at 1x': (at1.getLabsMs as { labs?: number }).labs === L,
      'GET /labs answered one entry per lab at 10x': (at10.getLabsMs as { labs?: number }).labs === L
    },
    details: { labs: L, sampleLabsWithRaw: SAMPLE, generateSeconds, perLabP99, at1x: at1, at10x: at10, ratioNote: 'ratio = GET /labs p99 at 10x raw / at 1x raw (flat = ~1)' }
  })
}

// ---------------------------------------------------------------- run, report
let failed: unknown
try {
  if (ONLY.has(1) || ONLY.has(2) || ONLY.has(3) || ONLY.has(5) || ONLY.has(6)) await ingestPipeline()
  if (ONLY.has(4)) await fleetAverages()
} catch (error) {
  failed = error
  for (const p of procs) process.stderr.write(`--- process output:\n${p.output().slice(-3000)}\n`)
} finally {
  for (const p of procs.slice()) await p.stop()
  await sqsProc.stop()
  for (const name of dropLater) await admin.query(`DROP DATABASE IF EXISTS \`${name}\``)
  await admin.end()
  await database.stop()
}
if (failed !== undefined) throw failed

figures.sort((a, b) => a.id - b.id)
const summary = { date: new Date().toISOString(), mode: SMOKE ? 'smoke' : 'full', machine: MACHINE, rounds: ROUNDS, seconds: round((Date.now() - started) / 1000, 1), figures }
await mkdir(OUT, { recursive: true })
for (const f of figures) await writeFile(join(OUT, `figure-${f.id}.json`), JSON.stringify({ date: summary.date, mode: summary.mode, machine: MACHINE, ...f }, null, 2) + '\n')
await writeFile(join(OUT, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')

const fmt = (x: number | null): string => x === null ? '—' : x.toLocaleString('en', { maximumFractionDigits: 3 })
console.log(`\nlabclimate bench (${summary.mode}) ${summary.date}`)
console.log(`machine: ${MACHINE.cores} cores (${MACHINE.cpu}), ${MACHINE.memoryGiB} GiB, Node ${MACHINE.node}, ${MACHINE.platform}, MariaDB ${MACHINE.mariadb}; ${summary.seconds} s`)
console.log(`ratio (min–max): median of ${ROUNDS} rounds alternating the measured route and its baseline, with the per-round spread`)
console.log('| # | figure | value | baseline | ratio (min–max) | target | met |')
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const f of figures) console.log(`| ${f.id} | ${f.name} | ${fmt(f.value)} ${f.unit} | ${f.baseline === null ? '—' : `${fmt(f.baseline)} (${f.baselineName ?? ''})`} | ${fmt(f.ratio)}${f.ratioSpread === null ? '' : ` (${fmt(f.ratioSpread.min)}–${fmt(f.ratioSpread.max)})`} | ${f.target} | ${f.met ? 'yes' : 'NO'} |`)
console.log(`results: ${OUT}`)
