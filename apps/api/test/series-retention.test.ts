// A chart over a range whose raw data is past retention is answered from the finest rollups still kept.
import { createLab, storeReadings } from '@labclimate/store'
import t from 'tap'
import { buildTestApp } from './helper.ts'

const DAY = 86_400_000
const TODAY = Math.floor(Date.now() / DAY) * DAY
// The app's clock is 60 days ahead: with the default retention (raw 35 days, minute 400), day
// TODAY is past raw retention but within minute retention.
const NOW = TODAY + 60 * DAY

t.test('raw asked, raw gone: minute buckets; raw asked, raw kept: raw readings', async (t) => {
  const { app, database, reader } = await buildTestApp(t, { now: () => NOW })
  await createLab(database.db, { id: 9, name: 'Freezer', address: 'B1', nowMs: TODAY })
  // 4 readings in one minute, then 2 in the next, on TODAY; 3 readings on NOW's day.
  const at = (base: number, seconds: number): number => base + 10 * 3_600_000 + seconds * 1000
  await storeReadings(database.db, [
    ...[0, 15, 30, 45, 60, 75].map((s, i) => ({ labId: 9, recordedAtMs: at(TODAY, s), temperatureMilliC: 20_000 + i * 1000, humidityMilliPct: 40_000 })),
    ...[0, 30, 60].map((s) => ({ labId: 9, recordedAtMs: at(TODAY + 60 * DAY, s), temperatureMilliC: 5000, humidityMilliPct: 50_000 }))
  ])
  const get = async (from: number): Promise<{ resolution: string, points: Array<{ timestamp: string, count: number, avg_temperature_c: number }> }> => {
    const res = await app.inject({ method: 'GET', url: `/labs/9/readings?resolution=raw&from=${from}&to=${from + DAY}`, headers: reader })
    t.equal(res.statusCode, 200, res.body)
    return res.json()
  }
  const old = await get(TODAY)
  t.equal(old.resolution, 'minute')
  t.same(old.points.map((p) => [p.timestamp, p.count, p.avg_temperature_c]), [
    [new Date(at(TODAY, 0)).toISOString(), 4, 21.5],
    [new Date(at(TODAY, 60)).toISOString(), 2, 24.5]
  ])
  const recent = await get(TODAY + 60 * DAY)
  t.equal(recent.resolution, 'raw')
  t.equal(recent.points.length, 3)
})
