// End to end on real processes: the API and the worker started as `pnpm start` starts them,
// MariaDB and an SQS server spoken to over the wire. Expected averages are computed here
// from what the test sent, not by any code of the service.
import { createApiKey } from '@labclimate/store'
import t from 'tap'
import { expectedBuckets, rollupDifferences, storedRollups } from '@labclimate/testkit/rollups'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { freePort, startApp, type AppProcess } from '@labclimate/testkit/processes'
import { queueDepth, startTestQueue } from '@labclimate/testkit/sqs'
import { waitFor } from '@labclimate/testkit/wait'

interface Sent { labId: number, atMs: number, tenthsC: number, humidityTenths: number }

const LABS = [11, 12, 13, 14]
const SPACING_MS = 28_000 // 2,880 readings over 22.4 h: all well inside the 24 h window while the test runs

function dayBatch (labId: number, endMs: number): Sent[] {
  return Array.from({ length: 2880 }, (_, i) => ({
    labId,
    atMs: endMs - (2879 - i) * SPACING_MS,
    tenthsC: 180 + ((i * 7 + labId * 13) % 90), // 18.0 to 26.9 °C
    humidityTenths: 300 + ((i * 11 + labId) % 400) // 30.0 to 69.9 %RH
  }))
}

// The same temperature written the ways devices write it.
function temperatureText (s: Sent, i: number): string | number {
  const c = s.tenthsC / 10
  switch (i % 4) {
    case 0: return c
    case 1: return `${c.toFixed(1)}°C`
    case 2: return `${(s.tenthsC * 9 / 50 + 32).toFixed(2)}°F` // tenths °C → °F, exact to 2 decimals
    default: return `${((s.tenthsC + 2731.5) / 10).toFixed(2)}K`
  }
}

interface Expected { readings: number, avg_temp: string, avg_humidity: string, avg_temperature_c: number, avg_humidity_pct: number }

function expected (sent: Sent[], window: { start: number, end: number }): Expected {
  const inside = sent.filter((s) => s.atMs >= window.start && s.atMs < window.end)
  const n = inside.length
  const sumT = inside.reduce((a, s) => a + s.tenthsC, 0)
  const sumH = inside.reduce((a, s) => a + s.humidityTenths, 0)
  const hundredths = (sumTenths: number): string => (Math.round(sumTenths * 10 / n) / 100).toFixed(2)
  return {
    readings: n,
    avg_temp: `${hundredths(sumT)}°C`,
    avg_humidity: `${hundredths(sumH)}%`,
    avg_temperature_c: sumT / n / 10,
    avg_humidity_pct: sumH / n / 10
  }
}

t.test('a day of readings through both routes, stored by the worker, averaged exactly; a repeat changes nothing', async (t) => {
  const queue = await startTestQueue(t)
  const database = await createTestDatabase(t, { migrate: false })
  const port = await freePort()
  const env = {
    DATABASE_URL: database.url,
    SQS_QUEUE_URL: queue.queueUrl,
    SQS_ENDPOINT: queue.endpoint,
    AWS_REGION: queue.region,
    LOG_LEVEL: 'warn'
  }
  const worker: AppProcess = startApp('apps/worker/src/main.ts', { ...env, SQS_WAIT_TIME_SECONDS: '1', WORKER_CONSUMERS: '2' })
  // eslint-disable-next-line prefer-const -- read by the teardown registered before it starts; a const would throw there if the test fails first
  let api: AppProcess | undefined
  t.teardown(async () => { await api?.stop(); await worker.stop() })
  const base = `http://127.0.0.1:${port}`

  // The worker migrates at start; the API needs the schema, so wait for the labs table.
  await waitFor('worker migrated', async () => (await database.db.introspection.getTables()).some((tbl) => tbl.name === 'labs'), 30_000)
    .catch((error: unknown) => { throw new Error(`${String(error)}; worker said:\n${worker.output()}`) })
  // No cache of GET /labs: the answer after the repeat must be computed after the repeat was stored.
  api = startApp('apps/api/src/server.ts', { ...env, PORT: String(port), HOST: '127.0.0.1', ALL_LABS_CACHE_MS: '0' })
  await waitFor('API ready', async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.ok, 30_000)

  const hello = await (await fetch(`${base}/`)).json() as { status: boolean, version: string }
  t.equal(hello.status, true)
  t.match(hello.version, /^\d+\.\d+\.\d+$/)

  // The first admin key comes from the database (as the CLI makes it); everything else goes through the API.
  const admin = { authorization: `Bearer ${(await createApiKey(database.db, { role: 'admin', label: 'e2e', nowMs: Date.now() })).key}` }
  const json = { 'content-type': 'application/json' }
  const deviceKeys = new Map<number, Record<string, string>>()
  for (const id of LABS) {
    const res = await fetch(`${base}/labs`, {
      method: 'POST',
      headers: { ...admin, ...json },
      body: JSON.stringify({ id, name: `Lab ${id}`, address: 'Building B' })
    })
    t.equal(res.status, 201)
    const key = await fetch(`${base}/keys`, {
      method: 'POST',
      headers: { ...admin, ...json },
      body: JSON.stringify({ role: 'device', lab_id: id, label: `sensor ${id}` })
    })
    deviceKeys.set(id, { authorization: `Bearer ${(await key.json() as { key: string }).key}`, ...json })
  }
  const readKey = await fetch(`${base}/keys`, { method: 'POST', headers: { ...admin, ...json }, body: JSON.stringify({ role: 'read', label: 'dashboard' }) })
  const reader = { authorization: `Bearer ${(await readKey.json() as { key: string }).key}` }

  const endMs = Date.now() - 5 * 60_000
  const sent = new Map(LABS.map((id) => [id, dayBatch(id, endMs)]))
  const post = async (): Promise<void> => {
    // Labs 11 and 12 through the legacy route (lab_id as number and as string), 13 and 14 through the new one.
    const legacy = (id: number): unknown[] => (sent.get(id) ?? []).map((s, i) => ({
      lab_id: id === 11 ? id : String(id),
      timestamp: new Date(s.atMs).toISOString(),
      temperature: temperatureText(s, i),
      humidity: i % 2 === 0 ? `${(s.humidityTenths / 10).toFixed(1)}%` : s.humidityTenths / 10
    }))
    const responses = await Promise.all([
      ...[11, 12].map(async (id) => await fetch(`${base}/labs/upload`, { method: 'POST', headers: deviceKeys.get(id), body: JSON.stringify(legacy(id)) })),
      ...[13, 14].map(async (id) => await fetch(`${base}/labs/${id}/readings`, {
        method: 'POST',
        headers: deviceKeys.get(id),
        body: JSON.stringify((sent.get(id) ?? []).map((s, i) => ({
          timestamp: i % 2 === 0 ? s.atMs : new Date(s.atMs).toISOString(),
          temperature: temperatureText(s, i),
          humidity: s.humidityTenths / 10
        })))
      }))
    ])
    const bodies = await Promise.all(responses.map(async (r) => ({ status: r.status, body: await r.json() as { accepted: number, rejected: unknown[] } })))
    t.same(bodies.map((b) => [b.status, b.body.accepted, b.body.rejected.length]), [[202, 2880, 0], [202, 2880, 0], [202, 2880, 0], [202, 2880, 0]])
  }

  type Average = {
    lab_id: number
    readings: number
    avg_temp: string
    avg_humidity: string
    avg_temperature_c: number
    avg_humidity_pct: number
    window_start: string
    window_end: string
  }
  const labsNow = async (): Promise<Average[]> => await (await fetch(`${base}/labs`, { headers: reader })).json() as Average[]
  const check = (averages: Average[], when: string): void => {
    t.same(averages.map((a) => a.lab_id), LABS, `${when}: one entry per lab`)
    for (const a of averages) {
      const e = expected(sent.get(a.lab_id) ?? [], { start: Date.parse(a.window_start), end: Date.parse(a.window_end) })
      t.equal(Date.parse(a.window_end) - Date.parse(a.window_start), 86_400_000, `${when}: a 24 h window`)
      t.same(
        { readings: a.readings, avg_temp: a.avg_temp, avg_humidity: a.avg_humidity },
        { readings: e.readings, avg_temp: e.avg_temp, avg_humidity: e.avg_humidity },
        `${when}: lab ${a.lab_id}`
      )
      t.ok(
        Math.abs(a.avg_temperature_c - e.avg_temperature_c) < 0.0005 && Math.abs(a.avg_humidity_pct - e.avg_humidity_pct) < 0.0005,
        `${when}: lab ${a.lab_id} numeric averages ${a.avg_temperature_c} ≈ ${e.avg_temperature_c}`
      )
    }
  }

  await post()
  const first = await waitFor('every reading visible in the averages', async () => {
    const averages = await labsNow()
    return averages.length === LABS.length && averages.every((a) => a.readings === 2880) ? averages : undefined
  }, 60_000)
  check(first, 'first upload')

  await post()
  await waitFor('the repeat consumed', () => queueDepth(queue) === 0, 60_000)
  const second = await labsNow()
  check(second, 'after the same upload again')
  t.same(second.map((a) => [a.readings, a.avg_temp, a.avg_humidity]), first.map((a) => [a.readings, a.avg_temp, a.avg_humidity]), 'nothing changed')

  // The rollups the averages and charts read, compared whole (count, sums, min, max) with what was sent, once each.
  const once = [...sent.values()].flat().map((s) => ({
    labId: s.labId,
    recordedAtMs: s.atMs,
    temperatureMilliC: s.tenthsC * 100,
    humidityMilliPct: s.humidityTenths * 100
  }))
  t.same(
    rollupDifferences(await storedRollups(database.db, 'reading_rollups_minute'), expectedBuckets(once, 60_000)),
    [],
    'minute rollups count every reading once'
  )
  t.same(
    rollupDifferences(await storedRollups(database.db, 'reading_rollups_hour'), expectedBuckets(once, 3_600_000)),
    [],
    'hour rollups count every reading once'
  )

  const stored = await database.db.selectFrom('readings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(stored.n), 4 * 2880, 'each reading stored once')

  t.equal(await api.stop(), 0, 'the API exits cleanly on SIGTERM')
  t.equal(await worker.stop(), 0, 'the worker exits cleanly on SIGTERM')
  t.notMatch(api.output() + worker.output(), /"level":(50|60)/, 'no error was logged')
})
