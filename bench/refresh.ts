// `node bench/refresh.ts`: database time of one refresh of the all-labs answer (GET /labs) at fleet scale.
//   node bench/refresh.ts [--labs 46000] [--changed 800] [--rounds 3] [--smoke] [--out DIR]
// Baseline: the full recomputation (every lab's 24 h from hour rollups and minute edges), which every refresh
// was before. Measured: the incremental refresh the API now runs, a 1-minute window move plus `--changed` labs
// whose rollups changed since the last refresh (800 ≈ the nightly burst at 46,000 labs: ~13 labs/s for the
// refresh interval plus the 60 s look-back margin). The two alternate, `--rounds` times; each round checks that
// the incremental totals equal a full recomputation of the same window (exact sums per lab), else it fails.
// Runs on a private MariaDB server (like `pnpm test`), or TEST_DATABASE_URL.
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { readEnv } from '@labclimate/config'
import { CHANGE_MARGIN_MS, createApiKey, migrateToLatest, refreshRollingTotals, windowTotals, type RollingTotals } from '@labclimate/store'
import { createConnection } from 'mysql2/promise'
import { freePort, REPO_ROOT } from '@labclimate/testkit/processes'
import { benchDatabase, benchLog, machine, round, startProcess, summarize, waitFor } from './lib.ts'

const { values: args } = parseArgs({
  options: {
    labs: { type: 'string' },
    changed: { type: 'string' },
    rounds: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' }
  }
})
const SMOKE = args.smoke === true
const LABS = Number(args.labs ?? (SMOKE ? 500 : 46_000))
const CHANGED = Number(args.changed ?? (SMOKE ? 20 : 800))
const ROUNDS = Number(args.rounds ?? 3)
const OUT = resolve(args.out ?? (SMOKE ? join(tmpdir(), 'labclimate-bench-smoke') : join(REPO_ROOT, 'bench/results')))
const env = readEnv(process.env)
const OWN_SERVER_URL = env.url('TEST_DATABASE_URL', ['mysql'])
env.done()

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
const log = benchLog('refresh')

const bench = await benchDatabase(OWN_SERVER_URL, log, 4)
const db = bench.db
try {
  await migrateToLatest(db)
  const conn = await createConnection(bench.url)
  const q = async (text: string): Promise<void> => { await conn.query(text) }
  // The window the full recomputation reads (W0) and the one a minute later (W1); the start is 37 minutes into an
  // hour, so both edges are partial hours read from minute rollups.
  const end0 = Math.floor(Date.now() / HOUR) * HOUR + 37 * MINUTE
  const w0 = { startMs: end0 - DAY, endMs: end0 }
  const w1 = { startMs: w0.startMs + MINUTE, endMs: w0.endMs + MINUTE }
  log(`generating rollups for ${LABS} labs`)
  await q('CREATE TABLE nums (n INT PRIMARY KEY)')
  const digits = '(SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 ' +
    'UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)'
  await q(`INSERT INTO nums SELECT a.n + 10*b.n + 100*c.n + 1000*d.n + 10000*e.n FROM ${digits} a, ${digits} b, ${digits} c, ${digits} d, ${digits} e`)
  const cols = '(lab_id, bucket_start_ms, reading_count, temperature_sum, temperature_min, temperature_max, humidity_sum, humidity_min, humidity_max)'
  // Lab-dependent values, 2 readings a minute; sums kept consistent between hour and minute rollups is not needed
  // here (both sides of the comparison read the same rows).
  const vals = (count: string): string =>
    `${count}, ${count} * (20000 + (l.n % 50) * 100 + (b.n % 7)), 19500, 20500, ${count} * (45000 + (l.n % 13)), 44000, 46000`
  const hour0 = Math.floor(w0.startMs / HOUR) * HOUR - HOUR
  await q(`INSERT INTO reading_rollups_hour ${cols} SELECT l.n + 1, ${hour0} + b.n * ${HOUR}, ${vals('120')} ` +
    `FROM nums l JOIN nums b ON b.n < 27 WHERE l.n < ${LABS}`)
  // Minute rollups around both edges (the partial hours each window reads, ± 5 minutes), for every lab.
  const edges = [[w0.startMs - 5 * MINUTE, Math.ceil(w1.startMs / HOUR) * HOUR], [Math.floor(w0.endMs / HOUR) * HOUR, w1.endMs + 5 * MINUTE]] as const
  for (const [from, to] of edges) {
    await q(`INSERT INTO reading_rollups_minute ${cols} SELECT l.n + 1, ${from} + b.n * ${MINUTE}, ${vals('2')} ` +
      `FROM nums l JOIN nums b ON b.n < ${(to - from) / MINUTE} WHERE l.n < ${LABS}`)
  }
  for (const t of ['reading_rollups_minute', 'reading_rollups_hour']) await q(`ANALYZE TABLE ${t}`)
  const [counts] = await conn.query('SELECT (SELECT COUNT(*) FROM reading_rollups_hour) AS hours, ' +
    '(SELECT COUNT(*) FROM reading_rollups_minute) AS minutes') as unknown as [Array<{ hours: number, minutes: number }>]
  log(`rows: ${JSON.stringify(counts[0])}`)

  const fullMs: number[] = []
  const incrementalMs: number[] = []
  const quietMs: number[] = []
  let checked = 0
  for (let round = 0; round < ROUNDS; round++) {
    // Full recomputation of W0 (the baseline, and the starting point of the incremental refresh).
    let t = performance.now()
    const checkpoint = Date.now()
    const full = await refreshRollingTotals(db, undefined, w0, checkpoint)
    fullMs.push(performance.now() - t)
    // CHANGED labs (spread over the fleet) get a late reading in an hour of the window after the checkpoint.
    const changed = Array.from({ length: CHANGED }, (_, i) => 1 + Math.floor((i + 0.5) * LABS / CHANGED))
    const stamp = checkpoint + 1
    await q('UPDATE reading_rollups_hour SET reading_count = reading_count + 1, ' +
      `temperature_sum = temperature_sum + 21000 + ${round}, humidity_sum = humidity_sum + 50000 ` +
      `WHERE bucket_start_ms = ${hour0 + 10 * HOUR} AND lab_id IN (${changed.join(',')})`)
    await q(`INSERT INTO lab_rollup_changes (lab_id, changed_at_ms) VALUES ${changed.map((id) => `(${id},${stamp})`).join(',')} ` +
      'ON DUPLICATE KEY UPDATE changed_at_ms = VALUES(changed_at_ms)')
    // The incremental refresh to W1: a minute moved, CHANGED labs re-read.
    t = performance.now()
    const next = await refreshRollingTotals(db, full.totals, w1, stamp + 1)
    incrementalMs.push(performance.now() - t)
    if (next.stats.full || next.stats.changedLabs < CHANGED) throw new Error(`the refresh was not the incremental one expected: ${JSON.stringify(next.stats)}`)
    // Nothing changed since: the refresh of the same window (what most refreshes are outside the burst).
    t = performance.now()
    const quiet = await refreshRollingTotals(db, { ...next.totals, checkedAtMs: stamp + CHANGE_MARGIN_MS + 1 }, w1, stamp + CHANGE_MARGIN_MS + 2)
    if (quiet.stats.changedLabs !== 0) throw new Error('the quiet refresh re-read labs')
    quietMs.push(performance.now() - t)
    // Correctness: equal to a full recomputation of W1, lab by lab.
    const expected = await windowTotals(db, w1)
    const got = (totals: RollingTotals): string => JSON.stringify([...totals.byLab.values()].sort((a, b) => a.labId - b.labId))
    if (got(next.totals) !== JSON.stringify(expected)) throw new Error('the incremental totals differ from a full recomputation')
    checked += expected.length
    log(`round ${round + 1}: full ${round2(fullMs.at(-1))} ms, incremental ${round2(incrementalMs.at(-1))} ms, quiet ${round2(quietMs.at(-1))} ms`)
    await q('DELETE FROM lab_rollup_changes')
  }
  await conn.end()

  // GET /labs through the real API on this database: the full answer, a 304 for an unchanged answer, one page and a
  // lab filter, alternating, each request timed from the client (gzip accepted, as browsers and Postman do).
  const readKey = (await createApiKey(db, { role: 'read', label: 'bench', nowMs: Date.now() })).key
  const port = await freePort()
  const api = startProcess('apps/api/src/server.ts', {
    DATABASE_URL: bench.url,
    SQS_QUEUE_URL: 'http://127.0.0.1:9/000000000000/readings',
    SQS_ENDPOINT: 'http://127.0.0.1:9',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'x',
    AWS_SECRET_ACCESS_KEY: 'x',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '1000000'
  })
  const gets: Record<string, number[]> = { full: [], notModified: [], page1000: [], labFilter10: [] }
  try {
    const base = `http://127.0.0.1:${port}`
    await waitFor('API ready', async () => (await fetch(`${base}/health/live`).catch(() => undefined))?.ok, 60_000)
    const headers = { authorization: `Bearer ${readKey}`, 'accept-encoding': 'gzip' }
    const first = await fetch(`${base}/labs`, { headers })
    if (first.status !== 200) throw new Error(`GET /labs answered ${first.status}`)
    const labsInAnswer = (await first.json() as unknown[]).length
    if (labsInAnswer !== LABS) throw new Error(`GET /labs had ${labsInAnswer} labs, not ${LABS}`)
    const ids = Array.from({ length: 10 }, (_, i) => 1 + i * Math.floor(LABS / 10)).join(',')
    for (let i = 0; i < (SMOKE ? 20 : 200); i++) {
      const routes = [['full', '/labs', {}], ['page1000', '/labs?limit=1000&after=20000', {}], ['labFilter10', `/labs?lab_id=${ids}`, {}]] as const
      for (const [name, path, extra] of routes) {
        const t = performance.now()
        const res = await fetch(`${base}${path}`, { headers: { ...headers, ...extra } })
        await res.arrayBuffer()
        if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`)
        gets[name]?.push(performance.now() - t)
        if (name === 'full') {
          const etag = res.headers.get('etag') ?? ''
          const t2 = performance.now()
          const again = await fetch(`${base}/labs`, { headers: { ...headers, 'if-none-match': etag } })
          await again.arrayBuffer()
          // The answer may have moved on between the two (its window moves every minute): count only true 304s.
          if (again.status === 304) gets.notModified?.push(performance.now() - t2)
        }
      }
    }
  } finally {
    await api.stop()
  }
  const median = (xs: number[]): number => { const s = xs.slice().sort((a, b) => a - b); return s[Math.floor(s.length / 2)] as number }
  const ratios = fullMs.map((f, i) => f / (incrementalMs[i] as number))
  const result = {
    date: new Date().toISOString(),
    mode: SMOKE ? 'smoke' : 'full',
    machine: machine(bench.serverVersion),
    id: 7,
    name: `All-labs refresh, database time, ${LABS.toLocaleString('en')} labs`,
    value: round(median(incrementalMs)),
    unit: 'ms (median of rounds)',
    baseline: round(median(fullMs)),
    baselineName: 'full recomputation of every lab\'s 24 h (what every refresh was)',
    target: 'one refresh <= 500 ms of database time at 46,000 labs',
    met: LABS >= 46_000 && median(incrementalMs) <= 500,
    details: {
      labs: LABS,
      changedLabsPerRefresh: CHANGED,
      windowMoveMinutes: 1,
      rounds: ROUNDS,
      incrementalMs: incrementalMs.map((x) => round(x)),
      fullMs: fullMs.map((x) => round(x)),
      quietRefreshMs: quietMs.map((x) => round(x)),
      speedup: { median: round(median(ratios)), min: round(Math.min(...ratios)), max: round(Math.max(...ratios)) },
      rows: counts[0],
      labTotalsChecked: checked,
      getLabsThroughApiMs: Object.fromEntries(Object.entries(gets).map(([k, v]) => [k, summarize(v)])),
      note: 'client-side wall time of the refresh\'s queries (all of it database work); the minute rollups here cover only the edges, ' +
        'so the full recomputation is cheaper than on a real day of minute rows'
    }
  }
  await mkdir(OUT, { recursive: true })
  await writeFile(join(OUT, 'figure-7.json'), JSON.stringify(result, null, 2) + '\n')
  console.log(JSON.stringify({ value: result.value, baseline: result.baseline, details: result.details }, null, 2))
} finally {
  await bench.close()
}

function round2 (x: number | undefined): number { return round(x ?? NaN) }
