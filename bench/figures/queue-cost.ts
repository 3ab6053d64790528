// Figure 5, queue cost: SQS requests (send + receive + delete) per million readings for the rounds of figures 1 and 3
// (API → queue → worker), counted at the SQS server by action, against a naive pipeline measured on the same
// counting server: one message per reading, sent, received and deleted one at a time.
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs'
import { createSqsClient } from '@labclimate/queue'
import { round, type SqsCounts } from '../lib.ts'
import type { BenchContext } from '../harness/context.ts'
import type { Row } from '../harness/data.ts'
import type { Pipeline } from '../harness/pipeline.ts'

/** What the counted rounds of figures 1 and 3 did. */
export interface CountedRun {
  /** At the SQS server over those rounds. */
  counts: SqsCounts
  /** Accepted by the API (202). */
  readings: number
  /** Rows in `readings` afterwards. */
  stored: number
  /** Messages the worker drained. */
  messages: number
  /** SendMessage calls during ingest. */
  sendCalls: number
}

/** The baseline: one message per reading through the same counting SQS server, on a queue of its own. */
async function naiveQueueCost (ctx: BenchContext, rows: readonly Row[]): Promise<{ sent: number, received: number, requests: number, perMillion: number }> {
  const client = createSqsClient({ region: 'us-east-1', endpoint: ctx.sqs.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  try {
    const queueUrl = (await client.send(new CreateQueueCommand({ QueueName: 'naive-one-per-reading' }))).QueueUrl as string
    const before = await ctx.sqs.counts()
    for (const r of rows) await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(r) }))
    let received = 0
    for (;;) {
      const got = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 }))
      const m = got.Messages?.[0]
      if (m === undefined) break
      received++
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }))
    }
    const after = await ctx.sqs.counts()
    const requests = (after.send - before.send) + (after.receive - before.receive) + (after.delete - before.delete)
    return { sent: rows.length, received, requests, perMillion: requests / Math.max(1, rows.length) * 1e6 }
  } finally { client.destroy() }
}

export async function queueCost (ctx: BenchContext, pipeline: Pipeline, run: CountedRun): Promise<void> {
  const { counts, readings, stored, messages } = run
  const perMillion = (counts.send + counts.receive + counts.delete) / readings * 1e6
  ctx.log('figure 5: baseline, one message per reading (send, receive, delete) for a sample')
  const sample = (pipeline.bodiesByRound[0] as Array<{ rows: Row[] }>).slice(0, 1).flatMap((b) => b.rows).slice(0, ctx.sizes.naiveReadings)
  const naive = await naiveQueueCost(ctx, sample)
  ctx.record({
    id: 5,
    name: 'Queue cost (send + receive + delete)',
    value: Math.round(perMillion),
    unit: 'SQS requests per million readings',
    baseline: Math.round(naive.perMillion),
    baselineName: 'naive, measured: one message per reading (send, receive, delete)',
    target: '<= 10,000',
    met: perMillion <= 10_000,
    checks: {
      'stored = accepted for the counted run (figure 3)': stored === readings,
      'the baseline received and deleted every message it sent': naive.received === naive.sent && naive.sent === ctx.sizes.naiveReadings
    },
    details: {
      baselineSample: naive,
      readings,
      messages,
      readingsPerMessage: round(readings / Math.max(1, messages)),
      sendCallsDuringIngest: run.sendCalls,
      counts,
      note: 'receives include empty long polls while the worker waited; other = health checks, heartbeats'
    }
  })
}
