// Figure 6, freshness: with the worker running, a few labs each post one reading every 500 ms; after each 202,
// `GET /labs/{id}` is polled every 10 ms until its averages count the reading. p99 of (visible − 202).
import { sleep, summarize, waitFor } from '../lib.ts'
import type { BenchContext } from '../harness/context.ts'
import { createLabsAndKeys } from '../harness/data.ts'
import type { Pipeline } from '../harness/pipeline.ts'

export async function freshness (ctx: BenchContext, pipeline: Pipeline): Promise<void> {
  const { sizes, log } = ctx
  const { api } = pipeline
  const worker = ctx.startWorker(pipeline.url)
  await waitFor('queue drained before freshness', async () => (await ctx.sqs.depth()).total === 0, 120_000, 20)
  const freshIds = Array.from({ length: sizes.freshnessLabs }, (_, i) => 900_000 + i)
  const freshKeys = await createLabsAndKeys(pipeline.db, freshIds)
  const read = { authorization: `Bearer ${pipeline.readKey}` }
  log(`figure 6: freshness, ${freshIds.length} labs posting one reading every 500 ms for ${sizes.freshnessSeconds} s`)
  const latencies: number[] = []
  const until = Date.now() + sizes.freshnessSeconds * 1000
  let failures = 0
  await Promise.all(freshIds.map(async (labId, k) => {
    await sleep(k * 500 / freshIds.length)
    let count = 0
    while (Date.now() < until) {
      const tick = Date.now()
      const res = await fetch(`${api.base}/labs/${labId}/readings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${freshKeys.get(labId) as string}` },
        body: JSON.stringify({ timestamp: tick, temperature: 20 + (count % 10), humidity: 50 })
      })
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
  await ctx.stopProc(worker)
  const s = summarize(latencies)
  ctx.record({
    id: 6,
    name: 'Freshness: 202 to visible in GET /labs/{id} averages',
    value: s.p99,
    unit: 'ms (p99)',
    baseline: null,
    baselineName: null,
    target: 'p99 <= 2,000 ms',
    met: s.p99 <= 2000,
    checks: { 'every reading was answered 202 and then seen in the averages': failures === 0 && latencies.length > 0 },
    details: { ...s, failures, readingsPerSecond: freshIds.length * 2, pollEveryMs: 10, workerLongPollSeconds: 1 }
  })
}
