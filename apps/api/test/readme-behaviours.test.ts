// README behaviours that had no test: series limits and `truncated`, POST /labs 409, the 1 MiB limit on other
// routes, rounding of negative averages, ALL_LABS_CACHE_MS, and revocation within AUTH_CACHE_SECONDS.
// Time comes from an injected clock at a fixed date where the app takes one.
import type { Reading } from '@labclimate/contract'
import { storeReadings } from '@labclimate/store'
import t, { type Test } from 'tap'
import { waitFor } from '@labclimate/testkit/wait'
import { buildTestApp } from './helper.ts'

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
const PROBLEM = /^application\/problem\+json/
const reading = (labId: number, recordedAtMs: number, temperatureMilliC: number, humidityMilliPct = 40_000): Reading =>
  ({ labId, recordedAtMs, temperatureMilliC, humidityMilliPct })

async function withLab (t: Test, options: Parameters<typeof buildTestApp>[1] = {}, ids = [1]): Promise<Awaited<ReturnType<typeof buildTestApp>>> {
  const ctx = await buildTestApp(t, { now: () => NOW, ...options })
  for (const id of ids) {
    const res = await ctx.app.inject({ method: 'POST', url: '/labs', headers: ctx.admin, payload: { id, name: `Lab ${id}`, address: 'A' } })
    t.equal(res.statusCode, 201)
  }
  return ctx
}

t.test('series: at most 20,000 points, truncated: true when there were more; spans over the limit refused', async (t) => {
  const { app, database, reader } = await withLab(t)
  // 20,001 raw readings, one every 4 s, ending a minute before now.
  const first = NOW - 60_000 - 20_000 * 4000
  await storeReadings(database.db, Array.from({ length: 20_001 }, (_, i) => reading(1, first + i * 4000, 20_000 + (i % 100))))
  const from = new Date(first).toISOString()
  const to = new Date(NOW).toISOString()
  const all = await app.inject({ url: `/labs/1/readings?resolution=raw&from=${from}&to=${to}`, headers: reader })
  t.equal(all.statusCode, 200)
  const body = all.json<{ truncated: boolean, points: Array<{ timestamp: string }> }>()
  t.equal(body.points.length, 20_000, '20,000 points')
  t.equal(body.truncated, true, 'truncated: true, for there were 20,001')
  t.equal(body.points[0]?.timestamp, from, 'the first ones, in time order')
  const fewer = await app.inject({ url: `/labs/1/readings?resolution=raw&from=${new Date(first + 4000).toISOString()}&to=${to}`, headers: reader })
  t.same([fewer.json<{ points: unknown[] }>().points.length, fewer.json<{ truncated: boolean }>().truncated], [20_000, false], 'exactly 20,000: not truncated')

  const day = 86_400_000
  for (const [resolution, maxDays] of [['raw', 2], ['minute', 14], ['hour', 400]] as const) {
    const span = (days: number): string => `/labs/1/readings?resolution=${resolution}` +
      `&from=${new Date(NOW - days * day).toISOString()}&to=${new Date(NOW).toISOString()}`
    t.equal((await app.inject({ url: span(maxDays), headers: reader })).statusCode, 200, `${resolution}: ${maxDays} days is allowed`)
    const over = await app.inject({ url: span(maxDays + 1), headers: reader })
    t.equal(over.statusCode, 400, `${resolution}: ${maxDays + 1} days is refused`)
    t.match(over.headers['content-type'], PROBLEM)
  }
})

t.test('POST /labs with an id that is taken: 409 problem+json', async (t) => {
  const { app, admin } = await withLab(t, {}, [7])
  const again = await app.inject({ method: 'POST', url: '/labs', headers: admin, payload: { id: 7, name: 'Other', address: 'B' } })
  t.equal(again.statusCode, 409)
  t.match(again.headers['content-type'], PROBLEM)
  t.match(again.json(), { status: 409, detail: /7/ })
  t.equal((await app.inject({ url: '/labs/7', headers: admin })).json<{ name: string }>().name, 'Lab 7', 'the first lab is unchanged')
})

t.test('1 MiB on routes other than the readings uploads (which take 4 MiB)', async (t) => {
  const { app, admin, device } = await withLab(t)
  const overOneMiB = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10), address: 'A' })
  const lab = await app.inject({ method: 'POST', url: '/labs', headers: { ...admin, 'content-type': 'application/json' }, payload: overOneMiB })
  t.equal(lab.statusCode, 413, 'POST /labs over 1 MiB')
  t.match(lab.headers['content-type'], PROBLEM)
  const key = await app.inject({
    method: 'POST',
    url: '/keys',
    headers: { ...admin, 'content-type': 'application/json' },
    payload: JSON.stringify({ role: 'read', label: 'x'.repeat(1024 * 1024 + 10) })
  })
  t.equal(key.statusCode, 413, 'POST /keys over 1 MiB')
  // The same size is below the uploads' limit: refused for its content, not its size.
  const upload = await app.inject({
    method: 'POST',
    url: '/labs/upload',
    headers: { ...(await device(1)), 'content-type': 'application/json' },
    payload: JSON.stringify([{ lab_id: 1, note: 'x'.repeat(1024 * 1024 + 10) }])
  })
  t.not(upload.statusCode, 413, `the upload route takes it (${upload.statusCode})`)
})

t.test('negative averages round halves away from zero (−60 °C rooms exist)', async (t) => {
  const { app, database, reader } = await withLab(t, {}, [1, 2, 3])
  const at = NOW - 3_600_000
  // Lab 1: −21.000 and −21.010 °C → −21.005: "−21.01°C" (2 decimals), −21.005 (3 decimals).
  // Lab 2: −1.000 and −1.001 °C → −1.0005: −1.001 at 3 decimals, "−1.00°C" at 2.
  // Lab 3: −59.995 and −60.000 °C → −59.9975: "−60.00°C", −59.998.
  await storeReadings(database.db, [
    reading(1, at, -21_000), reading(1, at + 30_000, -21_010),
    reading(2, at, -1_000), reading(2, at + 30_000, -1_001),
    reading(3, at, -59_995), reading(3, at + 30_000, -60_000)
  ])
  const labs = (await app.inject({ url: '/labs', headers: reader })).json<Array<{ lab_id: number, avg_temp: string, avg_temperature_c: number }>>()
  t.same(labs.map((l) => [l.lab_id, l.avg_temp, l.avg_temperature_c]), [[1, '-21.01°C', -21.005], [2, '-1.00°C', -1.001], [3, '-60.00°C', -59.998]])
  const one = (await app.inject({ url: '/labs/2', headers: reader })).json<{ averages: { avg_temperature_c: number } }>()
  t.equal(one.averages.avg_temperature_c, -1.001, 'GET /labs/{id} rounds the same way')
})

t.test('ALL_LABS_CACHE_MS: GET /labs is one answer for that long; 0 recomputes on every request', async (t) => {
  let clock = NOW
  const cached = await withLab(t, { now: () => clock, allLabsCacheMs: 60_000 })
  const count = async (ctx: typeof cached): Promise<number | undefined> =>
    (await ctx.app.inject({ url: '/labs', headers: ctx.reader })).json<Array<{ readings: number }>>()[0]?.readings
  await storeReadings(cached.database.db, [reading(1, NOW - 3_600_000, 20_000)])
  t.equal(await count(cached), 1)
  await storeReadings(cached.database.db, [reading(1, NOW - 3_599_000, 20_000)])
  t.equal(await count(cached), 1, 'within 60 s: the same answer, though a reading was added')
  clock += 61_000
  t.equal(await waitFor('a new answer after 60 s', async () => (await count(cached)) === 2 ? 2 : undefined, 10_000), 2, 'after 60 s: recomputed')

  const uncached = await withLab(t, { allLabsCacheMs: 0 })
  await storeReadings(uncached.database.db, [reading(1, NOW - 3_600_000, 20_000)])
  t.equal(await count(uncached), 1)
  await storeReadings(uncached.database.db, [reading(1, NOW - 3_599_000, 20_000)])
  t.equal(await count(uncached), 2, '0: the next request sees it')
})

t.test('a revoked key stops working within AUTH_CACHE_SECONDS', async (t) => {
  const authCacheSeconds = 1
  const { app, admin } = await withLab(t, { authCacheSeconds })
  const created = (await app.inject({ method: 'POST', url: '/keys', headers: admin, payload: { role: 'read', label: 'to revoke' } }))
    .json<{ id: number, key: string }>()
  const asKey = { authorization: `Bearer ${created.key}` }
  t.equal((await app.inject({ url: '/labs', headers: asKey })).statusCode, 200, 'works (and is now cached)')
  t.equal((await app.inject({ method: 'DELETE', url: `/keys/${created.id}`, headers: admin })).statusCode, 204)
  const revokedAt = Date.now()
  // The auth cache runs on the real clock: wait until AUTH_CACHE_SECONDS have passed since the revocation,
  // then the very next request must be refused.
  await waitFor('AUTH_CACHE_SECONDS to pass', () => Date.now() >= revokedAt + authCacheSeconds * 1000, 10_000, 20)
  const after = await app.inject({ url: '/labs', headers: asKey })
  t.equal(after.statusCode, 401, `refused ${authCacheSeconds} s after the revocation`)
  t.match(after.headers['content-type'], PROBLEM)
})
