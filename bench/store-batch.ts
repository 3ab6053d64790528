// `node bench/store-batch.ts`: the worker's store path (storeReadings: readings + minute and hour rollups + change
// stamps, one transaction per batch of 10 lab-days) against a bare multi-row INSERT of the same rows into a table
// like `readings` (same primary key and partitions, no rollups), both on 2 connections, in alternating rounds.
//   node bench/store-batch.ts [--batches 24] [--rounds 3] [--smoke] [--out DIR]
// Each round uses fresh lab ids, so every reading is new (the nightly case). After every round the stored count and
// every lab's rollup sums are checked against the rows sent. Figure 3 (`pnpm bench`) measures the same through
// SQS and the worker process; this isolates the database work, which is what the batch shape changes.
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { Reading } from '@labclimate/contract'
import { readEnv } from '@labclimate/config'
import { migrateToLatest, storeReadings } from '@labclimate/store'
import { sql } from 'kysely'
import { createConnection } from 'mysql2/promise'
import { REPO_ROOT } from '@labclimate/testkit/processes'
import { benchDatabase, benchLog, machine, round } from './lib.ts'

const { values: args } = parseArgs({
  options: { batches: { type: 'string' }, rounds: { type: 'string' }, smoke: { type: 'boolean', default: false }, out: { type: 'string' } }
})
const SMOKE = args.smoke === true
const BATCHES = Number(args.batches ?? (SMOKE ? 4 : 24))
const ROUNDS = Number(args.rounds ?? 3)
const OUT = resolve(args.out ?? (SMOKE ? join(tmpdir(), 'labclimate-bench-smoke') : join(REPO_ROOT, 'bench/results')))
const env = readEnv(process.env)
const OWN_SERVER_URL = env.url('TEST_DATABASE_URL', ['mysql'])
env.done()
const PER_DAY = 2880
const LABS_PER_BATCH = 10
const DAY = 86_400_000
const log = benchLog('store-batch')

const bench = await benchDatabase(OWN_SERVER_URL, log, 4)
const db = bench.db
const dayStart = Math.floor(Date.now() / DAY) * DAY - DAY

/** Batches of 10 lab-days each (as the worker gets them: 10 messages of one day batch each), labs from `firstLab`. */
function batches (firstLab: number): Reading[][] {
  return Array.from({ length: BATCHES }, (_, b) => Array.from({ length: LABS_PER_BATCH * PER_DAY }, (_, i) => {
    const labId = firstLab + b * LABS_PER_BATCH + Math.floor(i / PER_DAY)
    const k = i % PER_DAY
    return {
      labId,
      recordedAtMs: dayStart + k * 30_000,
      temperatureMilliC: 20_000 + ((k * 7 + labId) % 100) * 50,
      humidityMilliPct: 40_000 + ((k * 11 + labId) % 200) * 100
    }
  }))
}

async function onTwoConnections (work: Reading[][], run: (batch: Reading[]) => Promise<void>): Promise<number> {
  let next = 0
  const t = performance.now()
  await Promise.all([0, 1].map(async () => { for (let b = work[next++]; b !== undefined; b = work[next++]) await run(b) }))
  return (performance.now() - t) / 1000
}

try {
  await migrateToLatest(db)
  await sql.raw('CREATE TABLE readings_bare LIKE readings').execute(db)
  const bareConns = await Promise.all([0, 1].map(async () => await createConnection(bench.url)))
  let free = 0
  const bareInsert = async (batch: Reading[]): Promise<void> => {
    const conn = bareConns[free++ % 2] as (typeof bareConns)[number]
    await conn.beginTransaction()
    for (let i = 0; i < batch.length; i += 2000) {
      const rows = batch.slice(i, i + 2000).map((r) => [r.labId, r.recordedAtMs, r.temperatureMilliC, r.humidityMilliPct])
      await conn.query('INSERT INTO readings_bare (lab_id, recorded_at_ms, temperature_milli_c, humidity_milli_pct) VALUES ?', [rows])
    }
    await conn.commit()
  }
  // warm-up (JIT, buffer pool): one batch each way, not counted
  await storeReadings(db, batches(900_000)[0] as Reading[])
  await bareInsert(batches(900_000)[0] as Reading[])
  const rows: Array<{ store: number, bare: number }> = []
  let checkedLabs = 0
  for (let r = 0; r < ROUNDS; r++) {
    const first = 1 + r * BATCHES * LABS_PER_BATCH
    const work = batches(first)
    const readings = work.length * LABS_PER_BATCH * PER_DAY
    // alternate which goes first
    const runStore = async (): Promise<number> => readings / await onTwoConnections(work, async (b) => { await storeReadings(db, b) })
    const runBare = async (): Promise<number> => readings / await onTwoConnections(work, bareInsert)
    const [store, bare] = r % 2 === 0 ? [await runStore(), await runBare()] : (([b, s]) => [s, b])([await runBare(), await runStore()])
    rows.push({ store: store as number, bare: bare as number })
    // correctness: every reading stored once, and each lab's hour rollups add up to the rows sent
    const labs = work.length * LABS_PER_BATCH
    const { rows: check } = await sql<{ lab_id: number, n: number, t: number, h: number }>`SELECT lab_id, SUM(reading_count) AS n,
      SUM(temperature_sum) AS t, SUM(humidity_sum) AS h FROM reading_rollups_hour
      WHERE lab_id >= ${first} AND lab_id < ${first + labs} GROUP BY lab_id ORDER BY lab_id`.execute(db)
    const { rows: count } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM readings WHERE lab_id >= ${first} AND lab_id < ${first + labs}`.execute(db)
    const stored = Number(count[0]?.n)
    if (stored !== readings || check.length !== labs) {
      throw new Error(`round ${r + 1}: stored ${stored} of ${readings} readings, rollups for ${check.length} of ${labs} labs`)
    }
    for (const c of check) {
      const mine = work.flat().filter((x) => x.labId === Number(c.lab_id))
      const t = mine.reduce((a, x) => a + x.temperatureMilliC, 0)
      const h = mine.reduce((a, x) => a + x.humidityMilliPct, 0)
      if (Number(c.n) !== mine.length || Number(c.t) !== t || Number(c.h) !== h) {
        throw new Error(`lab ${c.lab_id}: rollups ${c.n}/${c.t}/${c.h}, sent ${mine.length}/${t}/${h}`)
      }
    }
    checkedLabs += labs
    log(`round ${r + 1}: store ${Math.round(store as number)} readings/s, bare ${Math.round(bare as number)} readings/s, ` +
      `ratio ${round((store as number) / (bare as number), 3)}`)
  }
  await Promise.all(bareConns.map(async (c) => await c.end()))
  const ratios = rows.map((x) => x.store / x.bare).sort((a, b) => a - b)
  const median = (xs: number[]): number => { const s = xs.slice().sort((a, b) => a - b); return s[Math.floor(s.length / 2)] as number }
  const result = {
    date: new Date().toISOString(),
    mode: SMOKE ? 'smoke' : 'full',
    machine: machine(bench.serverVersion),
    id: '3-store',
    name: 'Store path: storeReadings (readings + rollups + change stamps) vs bare multi-row INSERT',
    value: Math.round(median(rows.map((x) => x.store))),
    unit: 'readings/s (median of rounds)',
    baseline: Math.round(median(rows.map((x) => x.bare))),
    baselineName: 'bare multi-row INSERT (2,000 rows a statement), same PK and partitions, no rollups, 2 connections, 10 lab-days a transaction',
    ratio: round(median(ratios), 3),
    ratioSpread: { min: round(ratios[0] as number, 3), max: round(ratios.at(-1) as number, 3) },
    target: 'ratio >= 0.60',
    met: median(ratios) >= 0.6,
    details: {
      rounds: rows.map((x) => ({ store: Math.round(x.store), bare: Math.round(x.bare), ratio: round(x.store / x.bare, 3) })),
      batches: BATCHES,
      readingsPerBatch: LABS_PER_BATCH * PER_DAY,
      labsChecked: checkedLabs
    }
  }
  await mkdir(OUT, { recursive: true })
  await writeFile(join(OUT, 'figure-3-store.json'), JSON.stringify(result, null, 2) + '\n')
  console.log(JSON.stringify({ ratio: result.ratio, spread: result.ratioSpread, rounds: result.details.rounds }))
} finally {
  await bench.close()
}
