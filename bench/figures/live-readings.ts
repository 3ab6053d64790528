// Figure 2, live single readings: requests/s and latency of one-reading `POST /labs/{id}/readings` through the API
// for a few seconds on 100 connections, against a bare Fastify POST of the same body on the same connections,
// in alternating rounds.
import { alternateRounds, cpuSeconds, median, round, sum } from '../lib.ts'
import type { BenchContext } from '../harness/context.ts'
import { cannon, type Run } from '../harness/data.ts'
import type { Pipeline } from '../harness/pipeline.ts'

/** Every request answered 2xx, none failed. */
const everyOk = (runs: readonly Run[]): boolean => runs.every((x) => x.non2xx === 0 && x.errors === 0 && x['2xx'] === x.requests.total)

export async function liveReadings (ctx: BenchContext, pipeline: Pipeline): Promise<void> {
  const { sizes, rounds, log } = ctx
  const { api, bare, keys } = pipeline
  const labId = pipeline.labIds[0] as number
  const one = Buffer.from(JSON.stringify({ timestamp: new Date(Date.now() - 60_000).toISOString(), temperature: '21.5°C', humidity: '45%' }))
  // The like-for-like baseline: bare Fastify parsing the same one-reading body POSTed on the same connections.
  const bareOpts = {
    url: `${bare.base}/ingest`, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: one, connections: sizes.liveConnections
  }
  const liveOpts = {
    url: `${api.base}/labs/${labId}/readings`,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.get(labId) as string}` },
    body: one,
    connections: sizes.liveConnections
  }
  const f2 = { live: [] as Run[], bare: [] as Run[], liveCpu: [] as number[] }
  log(`figure 2: ${rounds} rounds, one reading a request through the API against a bare Fastify POST of the same body`)
  const r2 = (await alternateRounds(rounds, {
    'figure 2': {
      baseline: async () => {
        await cannon({ ...bareOpts, duration: 1 })
        const run = await cannon({ ...bareOpts, duration: sizes.liveSeconds })
        f2.bare.push(run)
        return run['2xx'] / run.seconds
      },
      measured: async () => {
        await cannon({ ...liveOpts, duration: 1 })
        const cpu = await cpuSeconds(api.proc.child.pid)
        const run = await cannon({ ...liveOpts, duration: sizes.liveSeconds })
        f2.liveCpu.push((await cpuSeconds(api.proc.child.pid)) - cpu)
        f2.live.push(run)
        return run['2xx'] / run.seconds
      }
    }
  }, log))['figure 2']
  const liveCpu = sum(f2.liveCpu)
  ctx.record({
    id: 2,
    name: 'Live single readings',
    value: Math.round(median(r2.measured)),
    unit: 'requests/s (median of rounds)',
    baseline: Math.round(median(r2.baseline)),
    baselineName: 'bare Fastify: POST of the same body, parse, 202; same connections',
    ratio: r2.ratio,
    ratioSpread: r2.ratioSpread,
    target: 'ratio >= 0.50',
    met: r2.ratio >= 0.5,
    checks: {
      'the API answered 202 to every request, every round (accepted = sent)': everyOk(f2.live),
      'the baseline answered 202 to every request, every round': everyOk(f2.bare)
    },
    details: {
      rounds: f2.live.map((x, i) => {
        const b = f2.bare[i] as Run
        return {
          apiRequestsPerSecond: Math.round(r2.measured[i] as number),
          baselineRequestsPerSecond: Math.round(r2.baseline[i] as number),
          ratio: r2.ratios[i],
          latencyMs: { p50: x.latency.p50, p90: x.latency.p90, p99: x.latency.p99, max: x.latency.max },
          baselineLatencyMs: { p50: b.latency.p50, p99: b.latency.p99 },
          apiCpuSeconds: round(f2.liveCpu[i] as number),
          non2xx: x.non2xx,
          errors: x.errors
        }
      }),
      order: 'baseline first in odd-numbered rounds (1, 3, …), the API first in even-numbered ones; each run after 1 s of uncounted warm-up',
      connections: sizes.liveConnections,
      seconds: sizes.liveSeconds,
      apiCpuSeconds: round(liveCpu),
      requestsPerApiCpuSecond: Math.round(sum(f2.live.map((x) => x['2xx'])) / liveCpu)
    }
  })
}
