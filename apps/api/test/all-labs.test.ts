// GET /labs: the full array by default, ETag/304, pages with Link rel="next", the lab filter and gzip answers,
// through the real app on MariaDB. Expected averages are computed here from the readings sent.
import { gunzipSync } from 'node:zlib'
import type { Reading } from '@labclimate/contract'
import { storeReadings } from '@labclimate/store'
import t from 'tap'
import { buildTestApp, type TestApp } from './helper.ts'

const NOW = Date.UTC(2026, 10, 25, 23, 0, 0)
const LABS = [3, 5, 8, 13, 21]

/** Readings of one lab over the past day: lab-dependent values so that every average differs. */
function day (labId: number): Reading[] {
  return Array.from({ length: 48 }, (_, i) => ({
    labId,
    recordedAtMs: NOW - 86_000_000 + i * 1_790_000,
    temperatureMilliC: 15_000 + labId * 100 + i * 37,
    humidityMilliPct: 30_000 + labId * 250 + i * 11
  }))
}

/** "21.50" from thousandths summed over n readings, rounded half away from zero, computed independently. */
const mean2 = (sum: number, n: number): string => (Math.round(sum / n / 10) / 100).toFixed(2)

async function withReadings (t: Parameters<typeof buildTestApp>[0]): Promise<TestApp> {
  const ctx = await buildTestApp(t, { now: () => NOW })
  await storeReadings(ctx.database.db, LABS.flatMap(day))
  return ctx
}

t.test('without parameters: every lab, one array, exact averages, with ETag and Cache-Control', async (t) => {
  const ctx = await withReadings(t)
  const res = await ctx.app.inject({ method: 'GET', url: '/labs', headers: ctx.reader })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.same(body.map((a: { lab_id: number }) => a.lab_id), LABS)
  for (const lab of LABS) {
    const readings = day(lab)
    const entry = body.find((a: { lab_id: number }) => a.lab_id === lab)
    t.equal(entry.readings, readings.length)
    t.equal(entry.avg_temp, `${mean2(readings.reduce((s, r) => s + r.temperatureMilliC, 0), readings.length)}°C`)
  }
  t.match(res.headers.etag, /^"[A-Za-z0-9_-]{10,}"$/)
  t.match(res.headers['cache-control'], /private/)
  t.equal(res.headers['content-encoding'], undefined, 'not compressed unless asked')
})

t.test('If-None-Match: 304 while nothing changed, 200 with a new ETag and the new average after a write', async (t) => {
  const ctx = await withReadings(t)
  const first = await ctx.app.inject({ method: 'GET', url: '/labs', headers: ctx.reader })
  const etag = first.headers.etag as string
  const again = await ctx.app.inject({ method: 'GET', url: '/labs', headers: { ...ctx.reader, 'if-none-match': etag } })
  t.equal(again.statusCode, 304)
  t.equal(again.body, '', 'a 304 has no body')
  t.equal(again.headers.etag, etag)
  const weakList = await ctx.app.inject({ method: 'GET', url: '/labs', headers: { ...ctx.reader, 'if-none-match': `"other", W/${etag}` } })
  t.equal(weakList.statusCode, 304, 'a list with the weak form of the tag matches too')
  const paged = await ctx.app.inject({ method: 'GET', url: '/labs?limit=2', headers: { ...ctx.reader, 'if-none-match': etag } })
  t.equal(paged.statusCode, 304, 'a view of the same answer has the same version')

  // A late reading for lab 8, an hour back: the answer changes.
  const late: Reading = { labId: 8, recordedAtMs: NOW - 3_600_000 + 5_000, temperatureMilliC: 40_000, humidityMilliPct: 90_000 }
  await storeReadings(ctx.database.db, [late])
  const changed = await ctx.app.inject({ method: 'GET', url: '/labs', headers: { ...ctx.reader, 'if-none-match': etag } })
  t.equal(changed.statusCode, 200)
  t.not(changed.headers.etag, etag)
  const all = [...day(8), late]
  const entry = changed.json().find((a: { lab_id: number }) => a.lab_id === 8)
  t.equal(entry.readings, all.length)
  t.equal(entry.avg_temp, `${mean2(all.reduce((s, r) => s + r.temperatureMilliC, 0), all.length)}°C`)
  t.equal(entry.avg_humidity, `${mean2(all.reduce((s, r) => s + r.humidityMilliPct, 0), all.length)}%`)
})

t.test('?limit=&after= pages with Link rel="next" until the last page', async (t) => {
  const ctx = await withReadings(t)
  const seen: number[] = []
  let url: string | undefined = '/labs?limit=2'
  const links: string[] = []
  while (url !== undefined) {
    const res = await ctx.app.inject({ method: 'GET', url, headers: ctx.reader })
    t.equal(res.statusCode, 200)
    const page = res.json() as Array<{ lab_id: number }>
    t.ok(page.length <= 2)
    seen.push(...page.map((a) => a.lab_id))
    const link = res.headers.link as string | undefined
    if (link !== undefined) links.push(link)
    url = link === undefined ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1]
  }
  t.same(seen, LABS, 'every lab once, in order')
  t.same(links, ['</labs?limit=2&after=5>; rel="next"', '</labs?limit=2&after=13>; rel="next"'])
  const tail = await ctx.app.inject({ method: 'GET', url: '/labs?after=8', headers: ctx.reader })
  t.same(tail.json().map((a: { lab_id: number }) => a.lab_id), [13, 21], 'after alone: the labs above it')
})

t.test('?lab_id= keeps only the labs named (with pages), and bad parameters are 400 problems', async (t) => {
  const ctx = await withReadings(t)
  const some = await ctx.app.inject({ method: 'GET', url: '/labs?lab_id=21,3,99,8', headers: ctx.reader })
  t.same(some.json().map((a: { lab_id: number }) => a.lab_id), [3, 8, 21], 'named labs with readings, by id; unknown ids left out')
  const page = await ctx.app.inject({ method: 'GET', url: '/labs?lab_id=21,3,8&limit=1&after=3', headers: ctx.reader })
  t.same(page.json().map((a: { lab_id: number }) => a.lab_id), [8])
  t.equal(page.headers.link, '</labs?lab_id=21,3,8&limit=1&after=8>; rel="next"')
  const tooMany = `lab_id=${Array.from({ length: 1001 }, (_, i) => i + 1).join(',')}`
  for (const bad of ['lab_id=1,,2', 'lab_id=abc', 'lab_id=0', 'limit=0', 'limit=10001', 'limit=1e3', 'after=-1', tooMany]) {
    const res = await ctx.app.inject({ method: 'GET', url: `/labs?${bad}`, headers: ctx.reader })
    t.equal(res.statusCode, 400, bad)
    t.match(res.headers['content-type'], /application\/problem\+json/, bad)
  }
})

t.test('compressed answers are negotiated: gzip when accepted (not with q=0), same JSON', async (t) => {
  const ctx = await withReadings(t)
  const plain = await ctx.app.inject({ method: 'GET', url: '/labs', headers: ctx.reader })
  const zipped = await ctx.app.inject({ method: 'GET', url: '/labs', headers: { ...ctx.reader, 'accept-encoding': 'br;q=1, gzip;q=0.8' } })
  t.equal(zipped.headers['content-encoding'], 'gzip')
  t.match(zipped.headers.vary, /accept-encoding/i)
  t.same(JSON.parse(gunzipSync(zipped.rawPayload).toString()), plain.json())
  const refused = await ctx.app.inject({ method: 'GET', url: '/labs', headers: { ...ctx.reader, 'accept-encoding': 'gzip;q=0, identity' } })
  t.equal(refused.headers['content-encoding'], undefined)
  const view = await ctx.app.inject({ method: 'GET', url: '/labs?limit=5', headers: { ...ctx.reader, 'accept-encoding': 'gzip' } })
  t.equal(view.headers['content-encoding'], 'gzip', 'a page above 1 KB is compressed too')
  t.same(JSON.parse(gunzipSync(view.rawPayload).toString()), plain.json())
})

t.test('an answer of thousands of labs (built in slices) is one valid array, every lab in order, exact', async (t) => {
  const ctx = await buildTestApp(t, { now: () => NOW })
  const labs = Array.from({ length: 4_100 }, (_, i) => 10_000 + i * 3)
  const readings = labs.map((labId) => ({ labId, recordedAtMs: NOW - 600_000, temperatureMilliC: labId % 30_000, humidityMilliPct: labId % 100_000 }))
  await storeReadings(ctx.database.db, readings)
  const res = await ctx.app.inject({ method: 'GET', url: '/labs', headers: ctx.reader })
  const body = res.json() as Array<{ lab_id: number, readings: number, avg_temperature_c: number }>
  t.same(body.map((a) => a.lab_id), labs)
  t.ok(body.every((a) => a.readings === 1 && a.avg_temperature_c === (a.lab_id % 30_000) / 1000), 'each lab its own value')
  const page = await ctx.app.inject({ method: 'GET', url: `/labs?limit=3&after=${labs[2_000] as number}`, headers: ctx.reader })
  t.same(page.json().map((a: { lab_id: number }) => a.lab_id), labs.slice(2_001, 2_004), 'a page across the slice boundary')
})
