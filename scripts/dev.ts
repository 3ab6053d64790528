// `pnpm dev`: the whole pipeline on this machine. Starts an SQS server (fauxqs) in this process
// with the readings queue and its DLQ, then the worker and the API as child processes, exactly
// as in production, against the MySQL/MariaDB named by DATABASE_URL.
import { spawn } from 'node:child_process'
import { startFauxqs } from 'fauxqs'
import { readEnv } from '@labclimate/config'

const read = readEnv(process.env)
const databaseUrl = read.url('DATABASE_URL', ['mysql']) ?? 'mysql://labclimate:labclimate@127.0.0.1:3306/labclimate'
const port = read.int('PORT', { default: 3000, min: 1, max: 65535 })
const sqsPort = read.int('SQS_PORT', { default: 4566, min: 1, max: 65535 })
read.done()

const sqs = await startFauxqs({ port: sqsPort, logger: false })
const dlq = sqs.createQueue('labclimate-readings-dlq')
const queue = sqs.createQueue('labclimate-readings', {
  attributes: { VisibilityTimeout: '60', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: 5 }) }
})
const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  SQS_QUEUE_URL: queue.queueUrl,
  SQS_ENDPOINT: `http://127.0.0.1:${sqs.port}`,
  AWS_REGION: 'us-east-1',
  PORT: String(port)
}
const children = ['apps/worker/src/main.ts', 'apps/api/src/server.ts'].map((entry) =>
  spawn(process.execPath, [entry], { env, stdio: 'inherit', cwd: new URL('..', import.meta.url) }))

console.log(`labclimate: API on http://127.0.0.1:${port}  (SQS at http://127.0.0.1:${sqs.port}, database ${databaseUrl.replace(/:[^:@/]*@/, ':***@')})`)

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  for (const child of children) child.kill('SIGTERM')
  void Promise.all(children.map(async (c) => await new Promise((resolve) => c.once('exit', resolve)))).then(async () => {
    await sqs.stop()
    process.exit(0)
  })
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
for (const child of children) child.once('exit', stop)
