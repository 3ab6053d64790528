// Figure 1, day-batch ingest: readings/s of `POST /labs/upload` (a lab's day, 2,880 readings a request) through the
// real API process against a bare Fastify route parsing the same bodies. Its rounds alternate with figure 3's
// (run.ts), which drains what each round queued.
import type autocannon from 'autocannon'
import { cpuSeconds, median, round, sum, type RoundPair, type RoundsResult } from '../lib.ts'
import type { BenchContext } from '../harness/context.ts'
import { cannon, PER_DAY, type Run } from '../harness/data.ts'
import type { Pipeline } from '../harness/pipeline.ts'

export interface DayBatchIngest {
  pair: RoundPair
  /** Day batches the API answered 202 in round `r`. */
  acceptedBatches: (r: number) => number
  /** Readings the API accepted over every round so far. */
  acceptedReadings: () => number
  /** SendMessage calls the API made while ingesting. */
  sendCalls: () => number
  record: (result: RoundsResult) => void
}

/** Each request of the run takes the next of `payloads`, round robin. */
function cycle (payloads: readonly Buffer[], path: string, headers: (i: number) => Record<string, string>): autocannon.Request[] {
  let next = 0
  return [{
    method: 'POST',
    setupRequest: (req) => {
      const i = next++ % payloads.length
      return { ...req, path, headers: { 'content-type': 'application/json', ...headers(i) }, body: payloads[i] }
    }
  }]
}

/** Warms the bare server and returns the round pair of figure 1; `record` once the rounds ran. */
export async function dayBatchIngest (ctx: BenchContext, pipeline: Pipeline): Promise<DayBatchIngest> {
  const { sizes } = ctx
  const { api, bare, keys, payloadsByRound, bodiesByRound } = pipeline
  // warm the bare process (JIT) with a few requests that are not counted (the API's would be stored)
  await cannon({ url: bare.base, amount: 6, connections: 2, requests: cycle(payloadsByRound[0] as Buffer[], '/ingest', () => ({})) })
  const rps = (r: { '2xx': number, seconds: number }): number => r['2xx'] / r.seconds
  const f1 = { api: [] as Run[], bare: [] as Run[], apiCpu: [] as number[], sqsCpu: [] as number[], sendCalls: 0 }

  const pair: RoundPair = {
    baseline: async (r) => {
      const run = await cannon({
        url: bare.base,
        amount: sizes.dayBatches,
        connections: sizes.ingestConnections,
        timeout: 30,
        requests: cycle(payloadsByRound[r] as Buffer[], '/ingest', () => ({}))
      })
      f1.bare.push(run)
      return rps(run) * PER_DAY
    },
    measured: async (r) => {
      const bodies = bodiesByRound[r] as Array<{ labId: number }>
      const sends = (await ctx.sqs.counts()).send
      const cpu = await cpuSeconds(api.proc.child.pid)
      const sqsCpu = await cpuSeconds(ctx.sqs.proc.child.pid)
      const run = await cannon({
        url: api.base,
        amount: sizes.dayBatches,
        connections: sizes.ingestConnections,
        timeout: 30,
        requests: cycle(payloadsByRound[r] as Buffer[], '/labs/upload', (i) => ({ authorization: `Bearer ${keys.get(bodies[i]?.labId as number) as string}` }))
      })
      f1.apiCpu.push((await cpuSeconds(api.proc.child.pid)) - cpu)
      f1.sqsCpu.push((await cpuSeconds(ctx.sqs.proc.child.pid)) - sqsCpu)
      f1.sendCalls += (await ctx.sqs.counts()).send - sends
      if (run.non2xx > 0 || run.errors > 0) ctx.log(`warning: ${run.non2xx} non-2xx, ${run.errors} errors from the API`)
      f1.api.push(run)
      return rps(run) * PER_DAY
    }
  }

  const acceptedReadings = (): number => sum(f1.api.map((x) => x['2xx'])) * PER_DAY
  return {
    pair,
    acceptedBatches: (r) => (f1.api[r] as Run)['2xx'],
    acceptedReadings,
    sendCalls: () => f1.sendCalls,
    record: (r1) => {
      const apiCpu = sum(f1.apiCpu)
      const allOk = (runs: readonly Run[]): boolean => runs.every((x) => x['2xx'] === sizes.dayBatches && x.non2xx === 0 && x.errors === 0)
      ctx.record({
        id: 1,
        name: 'Day-batch ingest (2,880 readings a request)',
        value: Math.round(median(r1.measured)),
        unit: 'readings/s (median of rounds)',
        baseline: Math.round(median(r1.baseline)),
        baselineName: 'bare Fastify: parse body, 202',
        ratio: r1.ratio,
        ratioSpread: r1.ratioSpread,
        target: 'ratio >= 0.70',
        met: r1.ratio >= 0.7,
        checks: {
          'the API answered 202 to every day batch sent, every round': allOk(f1.api),
          'the baseline answered 202 to every day batch sent, every round': allOk(f1.bare),
          'the queue holds every accepted reading (checked with figure 3: stored = accepted)': true
        },
        details: {
          rounds: f1.api.map((x, i) => {
            const b = f1.bare[i] as Run
            return {
              apiReadingsPerSecond: Math.round(r1.measured[i] as number),
              baselineReadingsPerSecond: Math.round(r1.baseline[i] as number),
              ratio: r1.ratios[i],
              apiSeconds: round(x.seconds),
              baselineSeconds: round(b.seconds),
              apiLatencyMs: { p50: x.latency.p50, p99: x.latency.p99 },
              baselineLatencyMs: { p50: b.latency.p50, p99: b.latency.p99 },
              apiCpuSeconds: round(f1.apiCpu[i] as number)
            }
          }),
          order: 'baseline first in odd-numbered rounds (1, 3, …), the API first in even-numbered ones',
          requests: sum(f1.api.map((x) => x.requests.total)),
          accepted202: sum(f1.api.map((x) => x['2xx'])),
          bodyBytes: pipeline.avgBytes,
          connections: sizes.ingestConnections,
          apiCpuSeconds: round(apiCpu),
          readingsPerApiCpuSecond: Math.round(acceptedReadings() / apiCpu),
          fakeSqsCpuSeconds: round(sum(f1.sqsCpu)),
          note: 'the fake SQS (fauxqs) runs on the same 2 cores; in AWS it does not'
        }
      })
    }
  }
}
