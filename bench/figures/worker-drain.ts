// Figure 3, worker drain: readings/s of the real worker process (2 consumers, batches of 10 messages) draining into
// MariaDB what figure 1 queued in the same round, against plain multi-row INSERTs of the same rows into
// `readings_bare` (same primary key and partitions, no rollups) on 2 connections. Checks stored = accepted.
import { sql, type RawBuilder } from 'kysely'
import { createConnection } from 'mysql2/promise'
import { cpuSeconds, median, round, sum, waitFor, type RoundPair, type RoundsResult } from '../lib.ts'
import type { BenchContext } from '../harness/context.ts'
import { PER_DAY, type Row } from '../harness/data.ts'
import type { Pipeline } from '../harness/pipeline.ts'

export interface WorkerDrain {
  pair: RoundPair
  /** Messages the worker drained over every round. */
  messages: () => number
  /** Records figure 3; returns the rows stored, which figure 5 checks too. */
  record: (result: RoundsResult, acceptedReadings: number) => Promise<{ stored: number }>
}

/** Creates `readings_bare` and returns the round pair of figure 3; `acceptedBatches(r)` is figure 1's round r. */
export async function workerDrain (ctx: BenchContext, pipeline: Pipeline, acceptedBatches: (r: number) => number): Promise<WorkerDrain> {
  const { db, url, bodiesByRound } = pipeline
  await sql.raw('CREATE TABLE readings_bare LIKE readings').execute(db)
  const f3 = { messages: [] as number[], drainSeconds: [] as number[], workerCpu: [] as number[], bareRows: [] as number[], bareSeconds: [] as number[] }

  const pair: RoundPair = {
    // the worker drains what the API queued this round
    measured: async (r) => {
      const queued = (await ctx.sqs.depth()).total
      const worker = ctx.startWorker(url)
      const wcpu0 = await cpuSeconds(worker.child.pid)
      await waitFor('worker takes messages', async () => { const d = await ctx.sqs.depth(); return d.inflight > 0 || d.total < queued }, 60_000, 5)
      const t0 = performance.now()
      await waitFor('queue drained', async () => (await ctx.sqs.depth()).total === 0, 300_000, 10)
      const drainSeconds = (performance.now() - t0) / 1000
      f3.workerCpu.push((await cpuSeconds(worker.child.pid)) - wcpu0)
      await ctx.stopProc(worker)
      f3.messages.push(queued)
      f3.drainSeconds.push(drainSeconds)
      return (acceptedBatches(r) * PER_DAY) / drainSeconds
    },
    // bare multi-row INSERT of the same rows (same PK, no rollups) into a table that grows round by round like `readings`
    baseline: async (r) => {
      const bodies = (bodiesByRound[r] as Array<{ rows: Row[] }>).slice(0, acceptedBatches(r))
      const groups: Row[][] = []
      for (let i = 0; i < bodies.length; i += 10) groups.push(bodies.slice(i, i + 10).flatMap((b) => b.rows).sort((a, b) => a.labId - b.labId || a.ms - b.ms))
      const conns = await Promise.all([0, 1].map(async () => await createConnection(url)))
      const tb = performance.now()
      let gi = 0
      await Promise.all(conns.map(async (conn) => {
        for (;;) {
          const g = groups[gi++]
          if (g === undefined) return
          await conn.beginTransaction()
          for (let i = 0; i < g.length; i += 2000) {
            await conn.query('INSERT INTO readings_bare (lab_id, recorded_at_ms, temperature_milli_c, humidity_milli_pct) VALUES ?',
              [g.slice(i, i + 2000).map((x) => [x.labId, x.ms, x.t, x.h])])
          }
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

  return {
    pair,
    messages: () => sum(f3.messages),
    record: async (r3, readingsQueued) => {
      const count = async (query: RawBuilder<{ n: number }>): Promise<number> => Number((await query.execute(db)).rows[0]?.n)
      const stored = await count(sql<{ n: number }>`SELECT COUNT(*) AS n FROM readings`)
      const hourRows = await count(sql<{ n: number }>`SELECT COUNT(*) AS n FROM reading_rollups_hour`)
      const rollupReadings = await count(sql<{ n: number }>`SELECT COALESCE(SUM(reading_count), 0) AS n FROM reading_rollups_hour`)
      const bareStored = await count(sql<{ n: number }>`SELECT COUNT(*) AS n FROM readings_bare`)
      const bareRows = sum(f3.bareRows)
      const workerRate = median(r3.measured)
      ctx.record({
        id: 3,
        name: 'Worker drain into MariaDB (with rollups)',
        value: Math.round(workerRate),
        unit: 'readings/s (median of rounds)',
        baseline: Math.round(median(r3.baseline)),
        baselineName: 'bare multi-row INSERT, same PK, no rollups, 2 connections',
        ratio: r3.ratio,
        ratioSpread: r3.ratioSpread,
        target: 'ratio >= 0.60 and >= 30,000 readings/s',
        met: r3.ratio >= 0.6 && workerRate >= 30_000,
        checks: {
          'stored = accepted (every reading answered 202 in figure 1 is a row)': stored === readingsQueued,
          'the hour rollups count every stored reading once': rollupReadings === readingsQueued,
          'the baseline inserted the same number of rows': bareStored === bareRows && bareRows === readingsQueued
        },
        details: {
          rounds: f3.drainSeconds.map((s, i) => ({
            workerReadingsPerSecond: Math.round(r3.measured[i] as number),
            baselineReadingsPerSecond: Math.round(r3.baseline[i] as number),
            ratio: r3.ratios[i],
            messages: f3.messages[i],
            drainSeconds: round(s),
            baselineSeconds: round(f3.bareSeconds[i] as number),
            workerCpuSeconds: round(f3.workerCpu[i] as number)
          })),
          order: 'baseline first in odd-numbered rounds (1, 3, …), the worker first in even-numbered ones; each round adds new labs to both tables',
          messages: sum(f3.messages),
          readings: readingsQueued,
          stored,
          hourRollupRows: hourRows,
          workerCpuSeconds: round(sum(f3.workerCpu)),
          readingsPerWorkerCpuSecond: Math.round(readingsQueued / sum(f3.workerCpu)),
          consumers: 2,
          sqsBatchSize: 10
        }
      })
      return { stored }
    }
  }
}
