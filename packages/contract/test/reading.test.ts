import t from 'tap'
import { MAX_FUTURE_SKEW_MS, MAX_LISTED_PROBLEMS, MAX_READING_AGE_MS, parseIsoTimestamp, parseReadingItems, parseTimestamp } from '../src/index.ts'

const NOW = Date.UTC(2026, 10, 25, 23, 0, 0)

t.test('ISO 8601 with a zone becomes UTC epoch ms', async (t) => {
  t.equal(parseIsoTimestamp('2026-11-25T23:00:00Z'), NOW)
  t.equal(parseIsoTimestamp('2026-11-26T00:00:00+01:00'), NOW)
  t.equal(parseIsoTimestamp('2026-11-25 18:00:00-0500'), NOW)
  t.equal(parseIsoTimestamp('2026-11-25T23:00:00.123456Z'), NOW + 123, 'digits past the millisecond are dropped')
  t.equal(parseIsoTimestamp('2026-11-25T23:00Z'), NOW)
  for (const bad of ['2026-11-25T23:00:00', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-25T24:00:00Z', 'yesterday', '2026-11-25']) {
    t.equal(parseIsoTimestamp(bad), undefined, bad)
  }
})

t.test('timestamps are checked against future skew and maximum age', async (t) => {
  t.same(parseTimestamp(NOW + MAX_FUTURE_SKEW_MS, NOW), { ok: true, value: NOW + MAX_FUTURE_SKEW_MS })
  t.match(parseTimestamp(NOW + MAX_FUTURE_SKEW_MS + 1, NOW), { ok: false, reason: /in the future/ })
  t.same(parseTimestamp(String(NOW - MAX_READING_AGE_MS), NOW), { ok: true, value: NOW - MAX_READING_AGE_MS })
  t.match(parseTimestamp(NOW - MAX_READING_AGE_MS - 1, NOW), { ok: false, reason: /older than 7 days/ })
  t.match(parseTimestamp(Math.floor(NOW / 1000), NOW), { ok: false, reason: /not seconds/ })
  t.match(parseTimestamp(NOW + 0.5, NOW), { ok: false, reason: /whole epoch milliseconds/ })
  t.match(parseTimestamp('2026-11-25T23:00:00', NOW), { ok: false, reason: /with a zone/ })
})

t.test('items are accepted or refused by index, each for its first problem', async (t) => {
  const items: unknown[] = [
    { lab_id: 1, timestamp: '2026-11-25T22:00:00Z', temperature: '70.7°F', humidity: '45%' },
    { lab_id: '2', timestamp: NOW - 60_000, temperature: 20, humidity: 50, extra: 'ignored' },
    { lab_id: 'two', timestamp: NOW, temperature: 20, humidity: 50 },
    { lab_id: 1, temperature: 20, humidity: 50 },
    { lab_id: 1, timestamp: NOW, temperature: 20, humidity: 150 },
    { lab_id: 0, timestamp: NOW, temperature: 20, humidity: 50 },
    { lab_id: 1.5, timestamp: NOW, temperature: 20, humidity: 50 },
    { lab_id: { id: 1 }, timestamp: NOW, temperature: 20, humidity: 50 }
  ]
  const { readings, rejected, rejectedCount, outOfRangeCount, notObjectCount } = parseReadingItems(items, NOW)
  t.same(readings, [
    { labId: 1, recordedAtMs: NOW - 3_600_000, temperatureMilliC: 21500, humidityMilliPct: 45000 },
    { labId: 2, recordedAtMs: NOW - 60_000, temperatureMilliC: 20000, humidityMilliPct: 50000 }
  ])
  t.same(rejected.map((r) => r.index), [2, 3, 4, 5, 6, 7])
  t.match(rejected, [
    { reason: /lab_id must be/ }, { reason: /timestamp is missing/ }, { reason: /humidity 150 is outside/ },
    { reason: /from 1 to/ }, { reason: /from 1 to/ }, { reason: /an object/ }
  ])
  t.equal(rejectedCount, 6)
  t.equal(outOfRangeCount, 1)
  t.equal(notObjectCount, 0)
})

t.test('a further check refuses valid readings by index', async (t) => {
  const { readings, rejected } = parseReadingItems([
    { lab_id: 1, timestamp: NOW, temperature: 20, humidity: 50 },
    { lab_id: 2, timestamp: NOW, temperature: 20, humidity: 50 }
  ], NOW, { admit: (r) => r.labId === 1 ? undefined : 'not yours' })
  t.same(readings.map((r) => r.labId), [1])
  t.same(rejected, [{ index: 1, reason: 'not yours' }])
})

t.test('items that are not objects are counted, the first 100 listed; past the first, objects are not parsed', async (t) => {
  const items: unknown[] = [{ lab_id: 'x' }, 'not an object', null, [1], ...Array.from({ length: 300 }, (_, i) => i % 2 === 0 ? 0 : { lab_id: 'x' })]
  const parsed = parseReadingItems(items, NOW)
  t.equal(parsed.notObjectCount, 3 + 150)
  t.equal(parsed.notObjects.length, MAX_LISTED_PROBLEMS)
  t.same(parsed.notObjects.slice(0, 5), [1, 2, 3, 4, 6])
  t.equal(parsed.rejectedCount, 1, 'only the object before the first non-object was parsed')
})

t.test('refusals past the first 100 are counted, not listed', async (t) => {
  const items = Array.from({ length: 5000 }, (_, i) => ({ lab_id: 1, timestamp: NOW, temperature: 20, humidity: 100 + i + 1 }))
  const parsed = parseReadingItems(items, NOW)
  t.equal(parsed.rejectedCount, 5000)
  t.equal(parsed.outOfRangeCount, 5000)
  t.equal(parsed.rejected.length, MAX_LISTED_PROBLEMS)
  t.same(parsed.rejected.map((r) => r.index), Array.from({ length: MAX_LISTED_PROBLEMS }, (_, i) => i), 'the first ones, in order')
})

t.test('a lab given by the URL: items need no lab_id, and may not name another lab', async (t) => {
  const { readings, rejected } = parseReadingItems([
    { timestamp: NOW, temperature: 20, humidity: 50 },
    { lab_id: 7, timestamp: NOW, temperature: 20, humidity: 50 },
    { lab_id: 8, timestamp: NOW, temperature: 20, humidity: 50 }
  ], NOW, { labId: 7 })
  t.same(readings.map((r) => r.labId), [7, 7])
  t.match(rejected, [{ index: 2, reason: /does not match the lab 7/ }])
})
