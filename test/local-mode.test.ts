// The embedded local mode as a person uses it: `pnpm dev` with no DATABASE_URL runs the real API and
// worker against an in-process SQS server and a SQLite file in the data folder, prints keys that work,
// and keeps the readings across a restart.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { DatabaseSync } from 'node:sqlite'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { freePort, startApp, type AppProcess } from '@labclimate/testkit/processes'
import { waitFor } from '@labclimate/testkit/wait'

// Linux's /proc: a process's children, and its process group (the field after the state and the parent).
const childrenOf = (pid: number): number[] => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((p) => p !== '').map(Number)
const processGroupOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[2])

/** Alive and not a zombie (an exited process its parent has not reaped yet has no resources left). */
const alive = (pid: number): boolean => { try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z' } catch { return false } }
const portFree = async (port: number): Promise<boolean> => await new Promise((resolve) => {
  const server = createServer()
  server.once('error', () => resolve(false))
  server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
})

interface Started { dev: AppProcess, keys: { admin: string, read: string, device: string } }

async function startDev (env: Record<string, string>): Promise<Started> {
  const dev = startApp('apps/cli/src/local-stack/launcher.ts', env)
  const banner = await waitFor('the banner with keys', () => /device key \(lab 1\):\s+(lc_\S+)/.test(dev.output()) ? dev.output() : undefined, 60_000, 100)
    .catch((error: unknown) => { throw new Error(`${String(error)}\n${dev.output()}`) })
  const key = (label: RegExp): string => label.exec(banner)?.[1] ?? ''
  return { dev, keys: { admin: key(/admin key:\s+(lc_\S+)/), read: key(/read key:\s+(lc_\S+)/), device: key(/device key \(lab 1\):\s+(lc_\S+)/) } }
}

t.test('pnpm dev without a database server: embedded SQLite + SQS, keys that work, data that survives a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labclimate-local-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  const port = await freePort()
  const env = { PORT: String(port), SQS_PORT: String(await freePort()), LABCLIMATE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', METRICS_EMF: 'false' }
  const api = `http://127.0.0.1:${port}`

  const first = await startDev(env)
  t.teardown(async () => { await first.dev.stop() })
  t.match(first.dev.output(), /database sqlite:.*labclimate\.sqlite, embedded/)
  t.match(first.dev.output(), new RegExp(`dashboard:\\s+${api}/dashboard`))
  const posted = await fetch(`${api}/labs/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${first.keys.device}`, 'content-type': 'application/json' },
    body: JSON.stringify([
      { lab_id: 1, timestamp: new Date(Date.now() - 60_000).toISOString(), temperature: '70.7°F', humidity: '45%' },
      { lab_id: 1, timestamp: Date.now() - 30_000, temperature: 22.5, humidity: 47 }
    ])
  })
  t.equal(posted.status, 202)
  const labs = async (key: string): Promise<Array<{ lab_id: number, readings: number, avg_temp: string, avg_humidity: string }>> =>
    await (await fetch(`${api}/labs`, { headers: { authorization: `Bearer ${key}` } }))
      .json() as Array<{ lab_id: number, readings: number, avg_temp: string, avg_humidity: string }>
  const seen = await waitFor('the readings in the averages', async () => {
    const all = await labs(first.keys.read)
    return all[0]?.readings === 2 ? all : undefined
  }, 30_000, 200)
  // (21.5 + 22.5) / 2 °C and (45 + 47) / 2 %RH, from what was posted.
  t.match(seen, [{ lab_id: 1, readings: 2, avg_temp: '22.00°C', avg_humidity: '46.00%' }])
  t.equal(await first.dev.stop(), 0, 'stops cleanly')

  const second = await startDev(env)
  t.teardown(async () => { await second.dev.stop() })
  t.match(await labs(second.keys.read), [{ lab_id: 1, readings: 2, avg_temp: '22.00°C' }], 'the readings survived the restart')
  t.equal(await second.dev.stop(), 0)
})

t.test('Ctrl-C at the terminal (SIGINT to the whole process group) right after a burst loses no accepted reading', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labclimate-local-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  const port = await freePort()
  const env = { PORT: String(port), SQS_PORT: String(await freePort()), LABCLIMATE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', METRICS_EMF: 'false' }
  // One consumer taking one message at a time: the queue still holds most of the burst when the signal comes.
  const { dev, keys } = await startDev({ ...env, WORKER_CONSUMERS: '1', SQS_BATCH_SIZE: '1' })
  t.teardown(async () => { await dev.stop() })

  // 40 uploads of 2,880 readings, one a second from 6.5 days ago: far more than the worker stores before the signal.
  const start = Date.now() - 6.5 * 86_400_000
  const upload = async (batch: number): Promise<number> => {
    const items = Array.from({ length: 2880 }, (_, i) => ({
      lab_id: 1,
      timestamp: start + (batch * 2880 + i) * 1000,
      temperature: 20 + (i % 10) / 10,
      humidity: 40
    }))
    const res = await fetch(`http://127.0.0.1:${port}/labs/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.device}`, 'content-type': 'application/json' },
      body: JSON.stringify(items)
    })
    t.equal(res.status, 202, `upload ${batch}`)
    return ((await res.json()) as { accepted: number }).accepted
  }
  let accepted = 0
  for (let batch = 0; batch < 40; batch += 4) accepted += (await Promise.all([0, 1, 2, 3].map(async (k) => await upload(batch + k)))).reduce((a, b) => a + b, 0)
  t.equal(accepted, 115_200)

  // What a terminal's Ctrl-C reaches: the launcher and each of its children still in the launcher's process group.
  const launcher = dev.child.pid as number
  const inGroup = childrenOf(launcher).filter((pid) => processGroupOf(pid) === processGroupOf(launcher))
  const db = new DatabaseSync(join(dataDir, 'labclimate.sqlite'))
  t.teardown(() => { db.close() })
  const storedNow = (): number => (db.prepare('SELECT COUNT(*) AS n FROM readings WHERE lab_id = 1').get() as { n: number }).n
  const storedAtSignal = storedNow()
  for (const pid of [launcher, ...inGroup]) process.kill(pid, 'SIGINT')
  t.equal(await dev.stop(), 0, 'exits 0 after draining')
  t.ok(storedAtSignal < accepted, `${accepted - storedAtSignal} accepted readings were not stored yet at Ctrl-C: the drain was tested`)
  t.equal(storedNow(), accepted, 'every accepted reading is in the database')
})

for (const [signal, how] of [['SIGHUP', 'the terminal closed (SIGHUP)'], ['SIGKILL', 'the launcher killed outright (SIGKILL)']] as const) {
  t.test(`${how}: no process of the stack is left and the ports are free`, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'labclimate-local-'))
    t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
    const port = await freePort()
    const sqsPort = await freePort()
    const { dev } = await startDev({ PORT: String(port), SQS_PORT: String(sqsPort), LABCLIMATE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', METRICS_EMF: 'false' })
    t.teardown(async () => { await dev.stop() })
    const launcher = dev.child.pid as number
    const stack = [launcher, ...childrenOf(launcher)]
    // Whatever this test finds left behind, it does not leave running.
    t.teardown(() => { for (const pid of stack) if (alive(pid)) process.kill(pid, 'SIGKILL') })
    t.equal(stack.length, 3, 'the launcher, the API and the worker')
    t.notOk(await portFree(port), 'the API holds its port')
    // What a closing terminal reaches: the launcher and whatever of its children share its process group.
    const inGroup = signal === 'SIGHUP' ? childrenOf(launcher).filter((pid) => processGroupOf(pid) === processGroupOf(launcher)) : []
    for (const pid of [launcher, ...inGroup]) process.kill(pid, signal)
    await waitFor('every process of the stack gone', () => stack.every((pid) => !alive(pid)), 30_000, 100)
      .catch((error: unknown) => { throw new Error(`${String(error)}: still running ${stack.filter(alive).join(' ')}\n${dev.output()}`) })
    t.pass(`${stack.join(', ')} all ended`)
    t.ok(await waitFor('the API port free', async () => await portFree(port), 10_000, 100), `port ${port} is free`)
    t.ok(await waitFor('the SQS port free', async () => await portFree(sqsPort), 10_000, 100), `SQS port ${sqsPort} is free`)
  })
}
