// Shared pieces of the benchmark: processes, an SQS request counter, percentiles, the machine line.
import { createServer, request as httpRequest, type Server } from 'node:http'
import { cpus, totalmem } from 'node:os'
import { randomBytes } from 'node:crypto'
import { connectDatabase, type Database } from '@labclimate/store'
import { suiteServer } from '@labclimate/testkit/mariadb-server'
import { startApp, type AppProcess } from '@labclimate/testkit/processes'
import { waitFor as poll } from '@labclimate/testkit/wait'
import type { Kysely } from 'kysely'
import { createConnection } from 'mysql2/promise'

export type Proc = AppProcess

/**
 * The testkit's app process with Node flags (e.g. --cpu-prof, passed in NODE_OPTIONS) and a SIGKILL if SIGTERM has
 * not ended it within 20 s, so that a stuck process cannot hang a benchmark.
 */
export function startProcess (entry: string, env: Record<string, string>, nodeArgs: string[] = []): Proc {
  const app = startApp(entry, nodeArgs.length === 0 ? env : { ...env, NODE_OPTIONS: nodeArgs.map((arg) => JSON.stringify(arg)).join(' ') })
  return {
    ...app,
    stop: async () => {
      const timer = setTimeout(() => app.child.kill('SIGKILL'), 20_000)
      try {
        return await app.stop()
      } finally {
        clearTimeout(timer)
      }
    }
  }
}

/** The tests' poller, with the benchmark's longer default wait and finer interval. */
export async function waitFor<T> (
  what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, intervalMs = 20
): Promise<T> {
  return await poll(what, check, timeoutMs, intervalMs)
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export interface SqsCounts { send: number, receive: number, delete: number, other: number, byAction: Record<string, number> }

/**
 * An HTTP proxy in front of the SQS server that counts requests by action (the AWS JSON protocol
 * names it in `x-amz-target`, the query protocol in `Action=`). Every process talks to SQS through it.
 */
export interface SqsCounter { port: number, counts: () => SqsCounts, reset: () => void, close: () => Promise<void> }

export async function startSqsCounter (target: { host: string, port: number }, depth: () => unknown = () => null): Promise<SqsCounter> {
  let byAction: Record<string, number> = {}
  const counts = (): SqsCounts => {
    const n = (a: string): number => byAction[a] ?? 0
    const send = n('SendMessage') + n('SendMessageBatch')
    const receive = n('ReceiveMessage')
    const del = n('DeleteMessage') + n('DeleteMessageBatch')
    const total = Object.values(byAction).reduce((a, b) => a + b, 0)
    return { send, receive, delete: del, other: total - send - receive - del, byAction: { ...byAction } }
  }
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/__bench/') === true) {
      if (req.url === '/__bench/reset') byAction = {}
      const answer = req.url === '/__bench/depth' ? depth() : req.url === '/__bench/counts' ? counts() : { ok: true }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(answer))
      req.resume()
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const amzTarget = req.headers['x-amz-target']
      const action = typeof amzTarget === 'string'
        ? amzTarget.split('.').pop() ?? 'unknown'
        : (/Action=(\w+)/.exec(body.toString('latin1', 0, 200))?.[1] ?? 'unknown')
      byAction[action] = (byAction[action] ?? 0) + 1
      const upstream = httpRequest({ host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      upstream.on('error', () => { res.writeHead(502); res.end() })
      upstream.end(body)
    })
  })
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    counts,
    reset: () => { byAction = {} },
    close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}

export function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))
  return sorted[i] as number
}

export function summarize (values: readonly number[]): { n: number, p50: number, p90: number, p99: number, max: number, mean: number } {
  const s = values.slice().sort((a, b) => a - b)
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)
  return {
    n: s.length,
    p50: round(percentile(s, 50)),
    p90: round(percentile(s, 90)),
    p99: round(percentile(s, 99)),
    max: round(s[s.length - 1] ?? NaN),
    mean: round(mean)
  }
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits

export function machine (mariadbVersion: string): { cores: number, cpu: string, memoryGiB: number, node: string, mariadb: string, platform: string } {
  const list = cpus()
  return {
    cores: list.length,
    cpu: list[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    mariadb: mariadbVersion,
    platform: `${process.platform}-${process.arch}`
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
export async function cpuSeconds (pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN
  try {
    const { readFile } = await import('node:fs/promises')
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN
  }
}

/** A benchmark's own database: a fresh one on the suite's server (TEST_DATABASE_URL, or a private MariaDB). */
export interface BenchDatabase {
  name: string
  url: string
  db: Kysely<Database>
  /** The server's VERSION(), for the machine line. */
  serverVersion: string
  /** Drops the database and stops a private server. */
  close: () => Promise<void>
}

export async function benchDatabase (ownServerUrl: string | undefined, log: (message: string) => void, poolSize: number): Promise<BenchDatabase> {
  const server = await suiteServer(ownServerUrl, log)
  const admin = await createConnection(server.url)
  const name = `labclimate_bench_${randomBytes(4).toString('hex')}`
  await admin.query(`CREATE DATABASE \`${name}\``)
  const url = new URL(server.url)
  url.pathname = `/${name}`
  const db = connectDatabase({ url: url.toString(), poolSize })
  const [versionRows] = await admin.query('SELECT VERSION() AS v') as unknown as [Array<{ v: string }>]
  return {
    name,
    url: url.toString(),
    db,
    serverVersion: versionRows[0]?.v ?? 'unknown',
    close: async () => {
      await db.destroy()
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``)
      await admin.end()
      await server.stop()
    }
  }
}

/** Progress lines on stderr, tagged and timed from the benchmark's start. */
export function benchLog (tag: string): (message: string) => void {
  const started = Date.now()
  return (message) => { process.stderr.write(`[${tag} +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`) }
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)

export function median (values: readonly number[]): number {
  const s = values.slice().sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** A measured route and its baseline, each run once a round; both return a rate (more is better). */
export interface RoundPair { measured: (round: number) => Promise<number>, baseline: (round: number) => Promise<number> }

/** Per-round rates and ratios of one pair; the figure is the median ratio, the spread its min–max. */
export interface RoundsResult { measured: number[], baseline: number[], ratios: number[], ratio: number, ratioSpread: { min: number, max: number } }

/**
 * Runs every pair once a round for `rounds` rounds, measured and baseline in alternating order (baseline first in
 * the first round), so that a machine that drifts during the run weighs on both sides alike. Within a round the
 * pairs run in the order given, so a later pair may use what an earlier one left (a queue filled, then drained).
 */
export async function alternateRounds<K extends string> (
  rounds: number, pairs: Record<K, RoundPair>, log: (message: string) => void = () => {}
): Promise<Record<K, RoundsResult>> {
  const names = Object.keys(pairs) as K[]
  const rates = new Map(names.map((k) => [k, { measured: [] as number[], baseline: [] as number[] }]))
  for (let r = 0; r < rounds; r++) {
    for (const k of names) {
      const pair = pairs[k]
      const seen = rates.get(k) as { measured: number[], baseline: number[] }
      if (r % 2 === 0) {
        seen.baseline.push(await pair.baseline(r))
        seen.measured.push(await pair.measured(r))
      } else {
        seen.measured.push(await pair.measured(r))
        seen.baseline.push(await pair.baseline(r))
      }
      const measured = seen.measured[r] as number
      const baseline = seen.baseline[r] as number
      log(`${k} round ${r + 1}/${rounds}: ${Math.round(measured)} vs baseline ${Math.round(baseline)}, ratio ${round(measured / baseline, 3)}`)
    }
  }
  const out = {} as Record<K, RoundsResult>
  for (const k of names) {
    const { measured, baseline } = rates.get(k) as { measured: number[], baseline: number[] }
    const ratios = measured.map((m, i) => m / (baseline[i] as number))
    out[k] = {
      measured,
      baseline,
      ratios: ratios.map((x) => round(x, 3)),
      ratio: round(median(ratios), 3),
      ratioSpread: { min: round(Math.min(...ratios), 3), max: round(Math.max(...ratios), 3) }
    }
  }
  return out
}
