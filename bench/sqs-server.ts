// The SQS of the benchmark in its own process (so that it does not share a thread with the load generator):
// a fauxqs server with the readings queue (and its DLQ) behind a proxy that counts requests by action.
//   GET /__bench/counts  → { send, receive, delete, other, byAction }
//   POST /__bench/reset  → zeroes the counts
//   GET /__bench/depth   → { ready, inflight, total } of the readings queue
// Prints one line of JSON { port, queueName } when ready.
import { startFauxqs } from 'fauxqs'
import { startSqsCounter } from './lib.ts'

const sqs = await startFauxqs({ port: 0, logger: false })
const dlq = sqs.createQueue('readings-dlq')
sqs.createQueue('readings', {
  attributes: { VisibilityTimeout: '60', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: 5 }) }
})
const counter = await startSqsCounter({ host: '127.0.0.1', port: sqs.port }, () => {
  const q = sqs.inspectQueue('readings')
  const ready = (q?.messages.ready.length ?? 0) + (q?.messages.delayed.length ?? 0)
  const inflight = q?.messages.inflight.length ?? 0
  return { ready, inflight, total: ready + inflight }
})
console.log(JSON.stringify({ port: counter.port, queueName: 'readings' }))
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => { void counter.close().then(async () => { await sqs.stop() }).then(() => process.exit(0)) })
}
