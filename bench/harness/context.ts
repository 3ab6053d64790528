// The harness of `pnpm bench`: the database server, the counting SQS server, the processes figures start and the
// figures recorded so far. Each figure gets it as its context; run.ts opens it once and closes it at the end.
import { randomBytes } from 'node:crypto'
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs'
import { createSqsClient } from '@labclimate/queue'
import { connectDatabase, migrateToLatest, type Database } from '@labclimate/store'
import type { Kysely } from 'kysely'
import { createConnection } from 'mysql2/promise'
import { suiteServer } from '@labclimate/testkit/mariadb-server'
import { freePort } from '@labclimate/testkit/processes'
import { machine, round, startProcess, waitFor, type Proc, type SqsCounts } from '../lib.ts'

/** How much each figure does: full sizes give the figures, smoke sizes only prove the harness works. */
export interface Sizes {
  dayBatches: number
  ingestConnections: number
  liveSeconds: number
  liveConnections: number
  fleetLabs: number
  sampleLabs: number
  allLabsRequests: number
  perLabRequests: number
  directQueries: number
  freshnessSeconds: number
  freshnessLabs: number
  naiveReadings: number
}

export const SIZES: Record<'smoke' | 'full', Sizes> = {
  smoke: {
    dayBatches: 12,
    ingestConnections: 4,
    liveSeconds: 2,
    liveConnections: 100,
    fleetLabs: 300,
    sampleLabs: 5,
    allLabsRequests: 20,
    perLabRequests: 40,
    directQueries: 2,
    freshnessSeconds: 3,
    freshnessLabs: 4,
    naiveReadings: 200
  },
  full: {
    dayBatches: 240,
    ingestConnections: 8,
    liveSeconds: 8,
    liveConnections: 100,
    fleetLabs: 46_000,
    sampleLabs: 50,
    allLabsRequests: 200,
    perLabRequests: 300,
    directQueries: 3,
    freshnessSeconds: 15,
    freshnessLabs: 10,
    naiveReadings: 2000
  }
}

export interface Figure {
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

/** A figure as a figure module reports it; `ratio` defaults to value / baseline. */
export type FigureInput = Omit<Figure, 'ratio' | 'ratioSpread'> & { ratio?: number | null, ratioSpread?: Figure['ratioSpread'] }

export interface ScratchDatabase { url: string, name: string, db: Kysely<Database> }
export interface Server { proc: Proc, base: string }
export interface QueueDepth { ready: number, inflight: number, total: number }

export interface BenchContext {
  sizes: Sizes
  /** Rounds of the ratio figures (measured and baseline alternating). */
  rounds: number
  log: (message: string) => void
  /** The readings queue behind the counting proxy (`bench/sqs-server.ts`) every process talks to. */
  sqs: {
    proc: Proc
    endpoint: string
    queueUrl: string
    counts: () => Promise<SqsCounts>
    reset: () => Promise<void>
    depth: () => Promise<QueueDepth>
  }
  /** A fresh, migrated `labclimate_bench_*` database, dropped when the harness closes. */
  scratchDatabase: () => Promise<ScratchDatabase>
  startApi: (databaseUrl: string, extra?: Record<string, string>) => Promise<Server>
  /** The baselines' bare Fastify server (`bench/bare-server.ts`). */
  startBare: () => Promise<Server>
  startWorker: (databaseUrl: string) => Proc
  stopProc: (proc: Proc) => Promise<void>
  record: (figure: FigureInput) => void
}

export interface Harness extends BenchContext {
  machine: ReturnType<typeof machine>
  /** Recorded so far, in the order recorded. */
  figures: Figure[]
  /** Since the harness opened. */
  seconds: () => number
  /** The last output of every process still running, for a failed run. */
  dumpOutput: () => void
  /** Stops every process and the SQS server, drops the scratch databases and stops a private database server. */
  close: () => Promise<void>
}

export interface HarnessOptions {
  smoke: boolean
  rounds: number
  /** Node flags for the API and worker processes (--cpu-prof). */
  profileArgs: string[]
  /** TEST_DATABASE_URL: a server of one's own instead of a private MariaDB. */
  ownServerUrl: string | undefined
}

export async function openHarness (options: HarnessOptions): Promise<Harness> {
  const started = Date.now()
  const log = (message: string): void => { process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`) }
  const database = await suiteServer(options.ownServerUrl, log)
  const admin = await createConnection(database.url)
  const [versionRows] = await admin.query('SELECT VERSION() AS v') as unknown as [Array<{ v: string }>]
  const dropLater: string[] = []
  const procs: Proc[] = []
  const figures: Figure[] = []

  const sqsProc = startProcess('bench/sqs-server.ts', {})
  const sqsPort = await waitFor('SQS server', () => {
    const m = /\{"port":(\d+)/.exec(sqsProc.output())
    return m === null ? undefined : Number(m[1])
  }, 30_000)
  const endpoint = `http://127.0.0.1:${sqsPort}`
  const benchGet = async <T>(path: string): Promise<T> =>
    await (await fetch(`${endpoint}/__bench/${path}`, { method: path === 'reset' ? 'POST' : 'GET' })).json() as T
  const sqsClient = createSqsClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  const queueUrl = (await sqsClient.send(new GetQueueUrlCommand({ QueueName: 'readings' }))).QueueUrl as string
  sqsClient.destroy()

  const appEnv = (databaseUrl: string): Record<string, string> =>
    ({ DATABASE_URL: databaseUrl, SQS_QUEUE_URL: queueUrl, SQS_ENDPOINT: endpoint, AWS_REGION: 'us-east-1', LOG_LEVEL: 'warn' })

  return {
    sizes: options.smoke ? SIZES.smoke : SIZES.full,
    rounds: options.rounds,
    log,
    sqs: {
      proc: sqsProc,
      endpoint,
      queueUrl,
      counts: async () => await benchGet<SqsCounts>('counts'),
      reset: async () => { await benchGet('reset') },
      depth: async () => await benchGet<QueueDepth>('depth')
    },
    machine: machine(versionRows[0]?.v ?? 'unknown'),
    figures,
    seconds: () => round((Date.now() - started) / 1000, 1),

    async scratchDatabase () {
      const name = `labclimate_bench_${randomBytes(4).toString('hex')}`
      await admin.query(`CREATE DATABASE \`${name}\``)
      dropLater.push(name)
      const url = new URL(database.url)
      url.pathname = `/${name}`
      const db = connectDatabase({ url: url.toString(), poolSize: 4 })
      await migrateToLatest(db)
      return { url: url.toString(), name, db }
    },

    async startApi (databaseUrl, extra = {}) {
      const port = await freePort()
      const proc = startProcess('apps/api/src/server.ts', {
        ...appEnv(databaseUrl), PORT: String(port), HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '1000000', ...extra
      }, options.profileArgs)
      procs.push(proc)
      const base = `http://127.0.0.1:${port}`
      await waitFor('API ready', async () => (await fetch(`${base}/health/live`).catch(() => undefined))?.ok, 30_000)
        .catch((error: unknown) => { throw new Error(`${String(error)}; API said:\n${proc.output()}`) })
      return { proc, base }
    },

    async startBare () {
      const port = await freePort()
      const proc = startProcess('bench/bare-server.ts', { PORT: String(port) })
      procs.push(proc)
      await waitFor('bare server', () => proc.output().includes('listening'), 30_000)
      return { proc, base: `http://127.0.0.1:${port}` }
    },

    startWorker (databaseUrl) {
      const proc = startProcess('apps/worker/src/main.ts', {
        ...appEnv(databaseUrl), MIGRATE_ON_START: 'false', WORKER_CONSUMERS: '2', SQS_WAIT_TIME_SECONDS: '1'
      }, options.profileArgs)
      procs.push(proc)
      return proc
    },

    async stopProc (proc) {
      await proc.stop()
      procs.splice(procs.indexOf(proc), 1)
    },

    record (f) {
      const ratio = f.ratio !== undefined ? f.ratio : (f.baseline === null || f.baseline === 0 ? null : round(f.value / f.baseline, 3))
      const ratioSpread = f.ratioSpread ?? null
      const failedChecks = Object.entries(f.checks).filter(([, ok]) => !ok).map(([what]) => what)
      figures.push({ ...f, ratio, ratioSpread, met: f.met && failedChecks.length === 0 })
      const spread = ratioSpread === null ? '' : `, ${ratioSpread.min}–${ratioSpread.max}`
      log(`figure ${f.id}: ${f.name} = ${f.value} ${f.unit}${ratio === null ? '' : ` (ratio ${ratio}${spread})`}`)
      if (failedChecks.length > 0) log(`figure ${f.id}: NOT CORRECT, so not met: ${failedChecks.join('; ')}`)
    },

    dumpOutput () {
      for (const p of procs) process.stderr.write(`--- process output:\n${p.output().slice(-3000)}\n`)
    },

    async close () {
      for (const p of procs.slice()) await p.stop()
      await sqsProc.stop()
      for (const name of dropLater) await admin.query(`DROP DATABASE IF EXISTS \`${name}\``)
      await admin.end()
      await database.stop()
    }
  }
}
