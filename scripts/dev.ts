// `pnpm dev`: the whole pipeline on this machine. Starts an SQS server (fauxqs) in this process
// with the readings queue and its DLQ, then the worker and the API as child processes, exactly
// as in production, against the MySQL/MariaDB named by DATABASE_URL. Once the API is ready it
// prints a fresh admin key, read key and a device key for a demo lab, so a person can post at once.
import { spawn } from 'node:child_process'
import { startFauxqs } from 'fauxqs'
import { readEnv } from '@labclimate/config'
import { connectDatabase, createApiKey, createLab, findLab } from '@labclimate/store'

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

const api = `http://127.0.0.1:${port}`
for (let i = 0; i < 120; i++) {
  if ((await fetch(`${api}/health/ready`).catch(() => undefined))?.ok === true) break
  await new Promise((resolve) => setTimeout(resolve, 500))
}
const db = connectDatabase({ url: databaseUrl, poolSize: 1 })
try {
  const nowMs = Date.now()
  const demo = await findLab(db, 1) ?? await createLab(db, { id: 1, name: 'Demo lab', address: 'Building A, room 1', nowMs })
  const key = async (role: 'admin' | 'read' | 'device'): Promise<string> =>
    (await createApiKey(db, { role, labId: role === 'device' ? demo.id : null, label: `pnpm dev ${role}`, nowMs })).key
  const [admin, reader, device] = [await key('admin'), await key('read'), await key('device')]
  console.log([
    '',
    `labclimate is up: API ${api}  (SQS http://127.0.0.1:${sqs.port}, database ${databaseUrl.replace(/:[^:@/]*@/, ':***@')})`,
    `  admin key:               ${admin}`,
    `  read key:                ${reader}`,
    `  device key (lab ${demo.id}):    ${device}`,
    `  docs:                    ${api}/docs`,
    `  dashboard:               ${api}/dashboard  (paste the read key)`,
    '  try:',
    `    curl -H 'authorization: Bearer ${device}' -H 'content-type: application/json' -d '[{"lab_id":${demo.id},"timestamp":"'$(date -u +%FT%TZ)'","temperature":"70.7°F","humidity":"45%"}]' ${api}/labs/upload`,
    `    curl -H 'authorization: Bearer ${reader}' ${api}/labs`,
    ''
  ].join('\n'))
} finally {
  await db.destroy()
}

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
