// `pnpm bench`: the six figures of the performance issue, each against a baseline measured in the same run.
//   node bench/run.ts [--smoke] [--out DIR] [--only 1,2,3,4,5,6] [--rounds N] [--profile DIR]
// --smoke   tiny sizes (under a minute): proves the harness works, the figures mean nothing
// --out     where the JSON results go (default bench/results; smoke: <tmpdir>/labclimate-bench-smoke)
// --rounds  ratio figures 1, 2 and 3 are the median of N rounds (default 3; smoke 2) in which the measured route
//           and its baseline alternate; the per-round ratios' min–max is reported beside it (one run is not a result)
// --profile starts the API and worker processes with --cpu-prof, profiles written to DIR
// The harness (bench/harness/) starts the database server and the counting SQS server; each figure is a module of
// bench/figures/. See bench/README.md.
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { readEnv } from '@labclimate/config'
import { REPO_ROOT } from '@labclimate/testkit/processes'
import { alternateRounds } from './lib.ts'
import { openHarness } from './harness/context.ts'
import { openPipeline } from './harness/pipeline.ts'
import { writeResults } from './harness/report.ts'
import { allLabsQuery } from './figures/all-labs-query.ts'
import { dayBatchIngest } from './figures/day-batch-ingest.ts'
import { freshness } from './figures/freshness.ts'
import { liveReadings } from './figures/live-readings.ts'
import { queueCost } from './figures/queue-cost.ts'
import { workerDrain } from './figures/worker-drain.ts'

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    rounds: { type: 'string' },
    profile: { type: 'string' }
  }
})
const smoke = args.smoke === true
const out = resolve(args.out ?? (smoke ? join(tmpdir(), 'labclimate-bench-smoke') : join(REPO_ROOT, 'bench/results')))
const only = new Set((args.only ?? '1,2,3,4,5,6').split(',').map(Number))
const selected = (...ids: number[]): boolean => ids.some((id) => only.has(id))
const env = readEnv(process.env)
const ownServerUrl = env.url('TEST_DATABASE_URL', ['mysql'])
env.done()

const harness = await openHarness({
  smoke,
  rounds: Number(args.rounds ?? (smoke ? 2 : 3)),
  profileArgs: args.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(args.profile)}`],
  ownServerUrl
})
let failed: unknown
try {
  // Figures 1, 3, 5, 2 and 6 run in this order on one pipeline: each later one reads what the earlier ones left.
  if (selected(1, 2, 3, 5, 6)) {
    const pipeline = await openPipeline(harness)
    if (selected(1, 3, 5)) {
      // One measured run gives all three: each round the API queues day batches (figure 1), then the worker drains
      // them (figure 3); figure 5 is the SQS requests those rounds cost.
      const ingest = await dayBatchIngest(harness, pipeline)
      await harness.sqs.reset()
      const drain = await workerDrain(harness, pipeline, ingest.acceptedBatches)
      harness.log(`figures 1 and 3: ${harness.rounds} rounds, each the API then the worker against their baselines, in alternating order`)
      const result = await alternateRounds(harness.rounds, { 'figure 1': ingest.pair, 'figure 3': drain.pair }, harness.log)
      ingest.record(result['figure 1'])
      const counts = await harness.sqs.counts()
      const readings = ingest.acceptedReadings()
      const { stored } = await drain.record(result['figure 3'], readings)
      await queueCost(harness, pipeline, { counts, readings, stored, messages: drain.messages(), sendCalls: ingest.sendCalls() })
    }
    if (only.has(2)) await liveReadings(harness, pipeline)
    if (only.has(6)) await freshness(harness, pipeline)
    await pipeline.close()
  }
  if (only.has(4)) await allLabsQuery(harness)
} catch (error) {
  failed = error
  harness.dumpOutput()
} finally {
  await harness.close()
}
if (failed !== undefined) throw failed

await writeResults(harness, { smoke, out })
