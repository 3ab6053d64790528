// `labclimate simulate` against the real app listening on a port: what it says it sent is what is stored.
import { spawn } from 'node:child_process'
import t from 'tap'
import app, { serverOptions } from '@labclimate/api'
import { testAppBuilder, type TestApp } from '@labclimate/testkit/app'
import { REPO_ROOT, type AppProcess } from '@labclimate/testkit/processes'
import { startRecordingProxy, type RecordingProxy } from '@labclimate/testkit/recording-proxy'
import { startWorkerProcess, waitUntilStored } from '@labclimate/testkit/worker'
import { READINGS_PER_DAY, simulate, type Summary } from '../src/simulate.ts'

const buildTestApp = testAppBuilder({ app, serverOptions })

const run = async (args: string[]): Promise<{ status: number | null, stdout: string, stderr: string }> => await new Promise((resolve) => {
  const child = spawn(process.execPath, ['apps/cli/src/main.ts', ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '' } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  child.on('close', (status) => { resolve({ status, stdout, stderr }) })
})

interface Sent { labId: number, atMs: number, milliC: number, milliPct: number }

/** What the simulator put on the wire (read by the recording proxy), in thousandths as the README defines them. */
function sentReadings (proxy: RecordingProxy): Sent[] {
  return proxy.requests.filter((r) => r.method === 'POST' && /^\/labs\/\d+\/readings$/.test(r.path) && r.status === 202).flatMap((r) => {
    const labId = Number(r.path.split('/')[2])
    return (JSON.parse(r.body) as Array<{ timestamp: number, temperature: number, humidity: number }>).map((x) => ({
      labId, atMs: x.timestamp, milliC: Math.round(x.temperature * 1000), milliPct: Math.round(x.humidity * 1000)
    }))
  })
}

/** The readings as the worker stored them. */
async function storedReadings ({ database }: TestApp): Promise<Sent[]> {
  const rows = await database.db.selectFrom('readings')
    .select(['lab_id', 'recorded_at_ms', 'temperature_milli_c', 'humidity_milli_pct'])
    .orderBy('lab_id')
    .orderBy('recorded_at_ms')
    .execute()
  return rows.map((r) => ({ labId: r.lab_id, atMs: Number(r.recorded_at_ms), milliC: r.temperature_milli_c, milliPct: r.humidity_milli_pct }))
}

const byKey = (readings: Sent[]): Map<string, string> => new Map(readings.map((r) => [`${r.labId}:${r.atMs}`, `${r.milliC}:${r.milliPct}`]))

/** The API under test on a port, reached through a recording proxy; the real worker stores what it queues. */
async function listening (t: Parameters<typeof buildTestApp>[0]): Promise<{ api: TestApp, url: string, proxy: RecordingProxy, worker: AppProcess }> {
  const api = await buildTestApp(t)
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  const address = api.app.server.address()
  const proxy = await startRecordingProxy(`http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`)
  t.teardown(async () => { await proxy.close() })
  return { api, url: proxy.url, proxy, worker: startWorkerProcess(t, api.queue, api.database.url) }
}

const countReadings = async ({ database }: TestApp, labIds: number[]): Promise<number> =>
  Number((await database.db.selectFrom('readings').where('lab_id', 'in', labIds).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)

t.test('--help', async (t) => {
  const help = await run(['simulate', '--help'])
  t.equal(help.status, 0)
  for (const option of ['--mode day|live', '--labs', '--rate', '--duration', '--admin-key']) t.match(help.stdout, option)
  const top = await run(['--help'])
  t.match(top.stdout, /simulate\s+a device fleet/)
  const bad = await run(['simulate', '--mode', 'weekly'])
  t.equal(bad.status, 2, 'a bad option is a usage error')
  t.match(bad.stderr, '--mode must be day or live')
})

t.test('day batches for 3 labs through a real port: summary, queue and store agree', async (t) => {
  const { api, url, proxy, worker } = await listening(t)
  const admin = api.admin.authorization.slice('Bearer '.length)

  const labs = 3
  const result = await run(['simulate', '--url', url, '--admin-key', admin, '--labs', String(labs), '--mode', 'day', '--json', '--seed', '7'])
  t.equal(result.status, 0, result.stderr)
  const summary = JSON.parse(result.stdout) as Summary
  t.equal(summary.requests, labs, 'one request per lab-day')
  t.equal(summary.readings_sent, labs * READINGS_PER_DAY)
  t.equal(summary.readings_accepted, labs * READINGS_PER_DAY, 'every reading accepted')
  t.equal(summary.readings_rejected, 0)
  t.same(summary.errors, {})
  const drift = Math.abs(summary.readings_per_s - summary.readings_accepted / summary.elapsed_s)
  t.ok(summary.readings_per_s > 0 && drift < 0.1 + summary.readings_per_s * 0.01, 'readings/s is accepted over elapsed')
  t.match(result.stderr, /100%.*3\/3 batches/, 'progress lines on a non-TTY stderr')

  // The labs and device keys exist; the readings went through SQS and the worker and are stored as they were sent.
  t.equal(summary.lab_ids.length, labs)
  const sent = sentReadings(proxy)
  t.equal(sent.length, labs * READINGS_PER_DAY, 'the wire carried every reading the summary counts')
  await waitUntilStored(api.database.db, api.queue, sent.length, worker)
  const stored = await storedReadings(api)
  t.equal(await countReadings(api, summary.lab_ids), labs * READINGS_PER_DAY, 'they are stored')
  const want = byKey(sent)
  t.equal([...byKey(stored)].filter(([k, v]) => want.get(k) !== v).length, 0, 'each stored with the values on the wire')

  for (const labId of summary.lab_ids) {
    const mine = stored.filter((r) => r.labId === labId)
    t.equal(mine.length, READINGS_PER_DAY, `lab ${labId}: a full day`)
    const stamps = mine.map((r) => r.atMs).sort((a, b) => a - b)
    t.ok(stamps.every((s, k) => k === 0 || s - (stamps[k - 1] as number) === 30_000), `lab ${labId}: every 30 s`)
    t.ok((stamps.at(-1) as number) <= Date.now() && (stamps[0] as number) > Date.now() - 86_400_000 - 60_000, `lab ${labId}: the last 24 h`)
    // Expected values are what went over the wire for this lab, in time order.
    const expected = sent.filter((r) => r.labId === labId).sort((a, b) => a.atMs - b.atMs)
    const sumT = expected.reduce((a, e) => a + e.milliC, 0)
    const temps = mine.map((r) => r.milliC / 1000)
    const spread = Math.max(...temps) - Math.min(...temps)
    t.ok(spread > 0.3 && spread < 8, `lab ${labId}: a daily curve, not a constant (${spread.toFixed(1)} °C)`)
    // The API's 24 h average is the mean of the posted readings inside the window it reports.
    const answer = await api.app.inject({ url: `/labs/${labId}`, headers: api.reader })
    type Averages = { avg_temperature_c: number, avg_humidity_pct: number, readings: number, window_start: string, window_end: string }
    const averages = answer.json<{ averages: Averages }>().averages
    const [from, to] = [Date.parse(averages.window_start), Date.parse(averages.window_end)]
    const inWindow = expected.filter((e) => e.atMs >= from && e.atMs < to)
    t.ok(inWindow.length >= READINGS_PER_DAY - 2, `lab ${labId}: (nearly) the whole day is in the 24 h window`)
    t.equal(averages.readings, inWindow.length)
    const mean = (milli: number[]): number => Math.round(milli.reduce((a, v) => a + v, 0) / milli.length) / 1000
    t.equal(averages.avg_temperature_c, mean(inWindow.map((e) => e.milliC)), `lab ${labId}: average temperature`)
    t.equal(averages.avg_humidity_pct, mean(inWindow.map((e) => e.milliPct)), `lab ${labId}: average humidity`)
    const tally = summary.per_lab.find((p) => p.lab_id === labId)
    t.equal(tally?.accepted, READINGS_PER_DAY)
    t.ok(Math.abs((tally?.sum_temperature_c ?? 0) * 1000 - sumT) < 1, 'the summary tallies what it sent')
  }
})

t.test('live readings at a bounded rate', async (t) => {
  const { api, url, proxy, worker } = await listening(t)
  const admin = api.admin.authorization.slice('Bearer '.length)
  const rate = 20
  const duration = 1.5
  const result = await run([
    'simulate', '--url', url, '--admin-key', admin, '--labs', '2', '--mode', 'live',
    '--rate', String(rate), '--duration', String(duration), '--json'
  ])
  t.equal(result.status, 0, result.stderr)
  const summary = JSON.parse(result.stdout) as Summary
  t.ok(summary.requests >= 10 && summary.requests <= rate * duration + 1, `about rate × duration requests (${summary.requests})`)
  t.equal(summary.readings_sent, summary.requests, 'one reading per request')
  t.equal(summary.readings_accepted, summary.requests)
  // A generous ceiling: it must stop, but how soon after --duration measures the machine's load, not the code.
  t.ok(summary.elapsed_s >= 1 && summary.elapsed_s < duration + 30, `bounded by --duration (${summary.elapsed_s} s)`)
  const sent = sentReadings(proxy)
  t.equal(sent.length, summary.readings_accepted, 'the wire carried what the summary counts')
  await waitUntilStored(api.database.db, api.queue, sent.length, worker)
  const stored = await storedReadings(api)
  t.same(byKey(stored), byKey(sent), 'the worker stored exactly what was sent')
  t.equal(await countReadings(api, summary.lab_ids), summary.readings_accepted)
  t.same(new Set(stored.map((r) => r.labId)), new Set(summary.lab_ids), 'both labs reported')
})

t.test('errors are counted by status', async (t) => {
  let calls = 0
  const statuses = [202, 503, 503, 401]
  const summary = await simulate(
    { url: 'http://x', mode: 'day', labs: 4, days: 1, rate: 0, interval: 30, duration: 10, concurrency: 1, seed: 1, json: true },
    { labs: [1, 2, 3, 4].map((labId) => ({ labId, deviceKey: 'k' })) },
    {
      fetch: (async () => {
        const status = statuses[calls++] as number
        return new Response(JSON.stringify(status === 202 ? { accepted: READINGS_PER_DAY - 1, rejected: [{ index: 5, reason: 'x' }] } : { status }), { status })
      }) as typeof fetch,
      now: Date.now,
      sleep: async () => {},
      progress: { write: () => {}, isTTY: false }
    })
  t.equal(summary.requests, 4)
  t.same(summary.errors, { 503: 2, 401: 1 })
  t.equal(summary.readings_accepted, READINGS_PER_DAY - 1)
  t.equal(summary.readings_rejected, 1)
  t.equal(summary.per_lab[0]?.accepted, READINGS_PER_DAY - 1, 'the refused reading is not tallied')
})
