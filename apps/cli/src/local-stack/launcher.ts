// `pnpm dev` and `labclimate start`: the whole pipeline on this machine. Starts an SQS server (fauxqs) in this process
// with the readings queue and its DLQ, then the worker and the API as child processes, exactly
// as in production. The database is the one DATABASE_URL names (MySQL/MariaDB), or by default an
// embedded SQLite file in the data folder (LABCLIMATE_DATA_DIR, default ./data), so readings survive a
// restart and nothing else needs installing. Once the API is ready it prints a fresh admin key, read key
// and a device key for a demo lab, so a person can post at once. Ctrl-C, closing the terminal (SIGHUP) and
// SIGTERM all stop it without losing an accepted reading; if it is killed outright, its apps end with it.
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startFauxqs } from 'fauxqs'
import { readEnv } from '@labclimate/config'
import { connectDatabase, createApiKey, createLab, findLab } from '@labclimate/store'

const read = readEnv(process.env)
const dataDir = resolve(read.string('LABCLIMATE_DATA_DIR', { default: 'data' }) as string)
const databaseUrl = read.url('DATABASE_URL', ['mysql', 'sqlite']) ?? `sqlite:${dataDir}/labclimate.sqlite`
if (databaseUrl.startsWith('sqlite:')) mkdirSync(dataDir, { recursive: true })
const port = read.int('PORT', { default: 3000, min: 1, max: 65535 })
const sqsPort = read.int('SQS_PORT', { default: 4566, min: 1, max: 65535 })
// Loopback unless asked otherwise: the keys printed below are live, and this is one person's machine.
const host = read.string('HOST', { default: '127.0.0.1' }) as string
// CloudWatch metric lines (EMF) are for CloudWatch; on a terminal they bury the logs a person reads.
const metricsEmf = read.bool('METRICS_EMF', { default: false })
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
  PORT: String(port),
  HOST: host,
  METRICS_EMF: String(metricsEmf)
}
// Each app leads a process group of its own: a Ctrl-C at the terminal reaches only this launcher, which
// then stops them in the order that loses nothing (below). Were they in the terminal's group, the worker
// would stop at once and leave accepted readings on the in-memory queue.
// Each also gets an IPC channel to this launcher, whose closing (this process gone, however) stops it:
// see child-guard.ts.
const guard = new URL('child-guard.ts', import.meta.url).href
// The apps' entry points, found through their packages: each sits beside the module its package exports.
const entries = [new URL('main.ts', import.meta.resolve('@labclimate/worker')), new URL('server.ts', import.meta.resolve('@labclimate/api'))]
const [worker, apiProcess] = entries.map((entry) =>
  spawn(process.execPath, ['--import', guard, fileURLToPath(entry)], { env, stdio: ['inherit', 'inherit', 'inherit', 'ipc'], detached: true }))
const children = [worker, apiProcess].filter((c) => c !== undefined)
// The IPC channels must not keep this launcher alive once everything else has ended.
for (const child of children) child.channel?.unref()
// A closed terminal makes writes fail (EIO): that must not end the launcher before its apps are stopped.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
// If the launcher itself fails, its apps go with it rather than live on, detached.
process.once('exit', () => { for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM') })

let stopping = false
const exited = async (child: ReturnType<typeof spawn>): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise((resolve) => child.once('exit', resolve))
}
const depth = (): number => {
  const q = sqs.inspectQueue(queue.queueName)
  return q === undefined ? 0 : q.messages.ready.length + q.messages.delayed.length + q.messages.inflight.length
}
// The queue lives in this process: stop the API first (it flushes what it buffered), let the worker drain
// the queue, then stop it, so no accepted reading is left behind in memory.
const stop = (): void => {
  if (stopping) return
  stopping = true
  console.error('labclimate: stopping: the API flushes, the worker drains the queue, then both exit')
  void (async () => {
    if (apiProcess !== undefined) { apiProcess.kill('SIGTERM'); await exited(apiProcess) }
    for (let i = 0; i < 1200 && depth() > 0 && worker?.exitCode === null; i++) await new Promise((resolve) => setTimeout(resolve, 100))
    if (depth() > 0) {
      console.error(`labclimate: ${depth()} messages left on the queue ` +
        '(the worker stopped, or did not drain them in 2 minutes) are lost with it')
    }
    if (worker !== undefined) { worker.kill('SIGTERM'); await exited(worker) }
    await sqs.stop()
    process.exit(0)
  })()
}
// `on`, not `once`: a second Ctrl-C must not kill the launcher mid-drain and orphan its detached apps.
// SIGHUP is the terminal closing: the same orderly stop as Ctrl-C.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop)
for (const child of children) child.once('exit', stop)

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
  const shownDatabase = databaseUrl.replace(/:[^:@/]*@/, ':***@') + (databaseUrl.startsWith('sqlite:') ? ', embedded' : '')
  console.log([
    '',
    `labclimate is up: API ${api}  (SQS http://127.0.0.1:${sqs.port}, database ${shownDatabase})`,
    `  admin key:               ${admin}`,
    `  read key:                ${reader}`,
    `  ${`device key (lab ${demo.id}):`.padEnd(25)}${device}`,
    `  docs:                    ${api}/docs`,
    `  dashboard:               ${api}/dashboard  (paste the read key)`,
    '  try:',
    `    curl -H 'authorization: Bearer ${device}' -H 'content-type: application/json' ` +
      `-d '[{"lab_id":${demo.id},"timestamp":"'$(date -u +%FT%TZ)'","temperature":"70.7°F","humidity":"45%"}]' ${api}/labs/upload`,
    `    curl -H 'authorization: Bearer ${reader}' ${api}/labs`,
    ''
  ].join('\n'))
} finally {
  await db.destroy()
}
