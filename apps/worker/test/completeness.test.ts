// The nightly completeness check: which upload window it judges (time zones, daylight saving time), and
// against real MariaDB which labs it counts as complete, with its EMF counts and the missing ids logged.
import type { Reading } from '@labclimate/contract'
import { createEmfMetrics, readEmfLine } from '@labclimate/metrics'
import { createLab, storeReadings } from '@labclimate/store'
import t from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { lastJudgedWindow, localHourToUtc, reportCompleteness, type CompletenessSettings } from '../src/completeness.ts'
import { loadMaintenanceConfig } from '../src/maintenance-config.ts'

const utc = (iso: string): number => Date.parse(iso)
const UTC: CompletenessSettings = { timeZone: 'UTC', uploadHour: 23, graceHours: 3, readingIntervalSeconds: 30 }
const iso = (w: { startMs: number, endMs: number }): [string, string] => [new Date(w.startMs).toISOString(), new Date(w.endMs).toISOString()]

t.test('the judged window is the 24 h the last upload covered, once the grace period has passed', async (t) => {
  // 01:59 UTC: last night's 23:00 upload is not 3 h old yet, so the night before is still the one judged.
  t.same(iso(lastJudgedWindow(utc('2026-11-26T01:59:00Z'), UTC)), ['2026-11-23T23:00:00.000Z', '2026-11-24T23:00:00.000Z'])
  t.same(iso(lastJudgedWindow(utc('2026-11-26T02:00:00Z'), UTC)), ['2026-11-24T23:00:00.000Z', '2026-11-25T23:00:00.000Z'])
  t.same(iso(lastJudgedWindow(utc('2026-11-26T22:59:00Z'), UTC)), ['2026-11-24T23:00:00.000Z', '2026-11-25T23:00:00.000Z'])
  // Berlin in winter is UTC+1: 23:00 local is 22:00 UTC.
  const berlin = { ...UTC, timeZone: 'Europe/Berlin' }
  t.same(iso(lastJudgedWindow(utc('2026-11-26T03:00:00Z'), berlin)), ['2026-11-24T22:00:00.000Z', '2026-11-25T22:00:00.000Z'])
  // 25 October 2026, clocks go back at 03:00 CEST: the window from 24 Oct 23:00 CEST (21:00 UTC) to
  // 25 Oct 23:00 CET (22:00 UTC) lasts 25 h; in March (29th) the window lasts 23 h.
  t.same(iso(lastJudgedWindow(utc('2026-10-26T12:00:00Z'), berlin)), ['2026-10-24T21:00:00.000Z', '2026-10-25T22:00:00.000Z'])
  t.same(iso(lastJudgedWindow(utc('2026-03-30T12:00:00Z'), berlin)), ['2026-03-28T22:00:00.000Z', '2026-03-29T21:00:00.000Z'])
  // India (UTC+5:30): 23:00 IST is 17:30 UTC.
  t.equal(new Date(localHourToUtc(2026, 11, 25, 23, 'Asia/Kolkata')).toISOString(), '2026-11-25T17:30:00.000Z')
})

t.test('configuration: FLEET_TIME_ZONE and the upload hour, checked', async (t) => {
  const config = loadMaintenanceConfig({ DATABASE_URL: 'mysql://u:p@h:3306/d' })
  t.same(config.completeness, UTC)
  t.equal(config.stage, 'local')
  const chicago = loadMaintenanceConfig({ DATABASE_URL: 'mysql://h/d', FLEET_TIME_ZONE: 'America/Chicago', UPLOAD_HOUR: '22', STAGE: 'prod' })
  t.same(chicago.completeness.timeZone, 'America/Chicago')
  t.throws(() => loadMaintenanceConfig({ DATABASE_URL: 'mysql://h/d', FLEET_TIME_ZONE: 'Mars/Olympus', UPLOAD_HOUR: '24' }), {
    name: 'ConfigError',
    problems: [
      'UPLOAD_HOUR must be a whole number from 0 to 23, not "24"',
      'FLEET_TIME_ZONE must be an IANA time zone such as Europe/Berlin, not "Mars/Olympus"'
    ]
  })
})

/** A lab's readings every 30 s over [startMs, endMs), except the instants `skip` says. */
function day (labId: number, startMs: number, endMs: number, skip: (ms: number) => boolean = () => false): Reading[] {
  const out: Reading[] = []
  for (let ms = startMs; ms < endMs; ms += 30_000) if (!skip(ms)) out.push({ labId, recordedAtMs: ms, temperatureMilliC: 21_000, humidityMilliPct: 45_000 })
  return out
}

function capture (): { metrics: ReturnType<typeof createEmfMetrics>, lines: string[] } {
  const lines: string[] = []
  return { metrics: createEmfMetrics({ service: 'maintenance', stage: 'prod', write: (l) => lines.push(l), flushMs: 3_600_000 }), lines }
}

t.test('a day that misses one lab: counts, ratio inputs and the missing id in the log', async (t) => {
  const { db } = await createTestDatabase(t)
  const start = utc('2026-11-24T23:00:00Z')
  const end = utc('2026-11-25T23:00:00Z')
  const before = start - 86_400_000
  for (const id of [1, 2, 3, 4]) await createLab(db, { id, name: `Lab ${id}`, address: 'B', nowMs: before })
  await createLab(db, { id: 5, name: 'Lab 5 (new)', address: 'B', nowMs: start + 3_600_000 })
  await storeReadings(db, day(1, start, end))
  // Lab 2: one reading short (12:00:30 lost).
  await storeReadings(db, day(2, start, end, (ms) => ms === utc('2026-11-25T12:00:30Z')))
  // Lab 3: the 05:00 hour missing, made up by 120 extra readings at :15 and :45 in the 06:00 hour (2,880 in total).
  await storeReadings(db, [...day(3, start, end, (ms) => ms >= utc('2026-11-25T05:00:00Z') && ms < utc('2026-11-25T06:00:00Z')),
    ...day(3, utc('2026-11-25T06:00:15Z'), utc('2026-11-25T07:00:00Z'))])
  // Lab 4: complete, plus readings outside the window that must not count.
  await storeReadings(db, [...day(4, start, end), ...day(4, end, end + 3_600_000)])
  // Lab 5 registered during the window: not judged, though complete.
  await storeReadings(db, day(5, start, end))

  const { metrics, lines } = capture()
  const logs: Array<{ level: string, data: Record<string, unknown>, message: string }> = []
  const log = {
    info: (data: object, message: string) => { logs.push({ level: 'info', data: data as Record<string, unknown>, message }) },
    warn: (data: object, message: string) => { logs.push({ level: 'warn', data: data as Record<string, unknown>, message }) }
  }
  const report = await reportCompleteness(db, UTC, utc('2026-11-26T03:07:00Z'), metrics, log)
  metrics.close()

  t.same([report.startMs, report.endMs], [start, end])
  t.equal(report.bucket, 'hour')
  t.same(readEmfLine(lines[0] ?? '').map((d) => [d.name, d.dimensions, d.values]), [
    ['LabsRegistered', { Service: 'maintenance', Stage: 'prod' }, [4]],
    ['LabsCompleteLastUpload', { Service: 'maintenance', Stage: 'prod' }, [2]]
  ], 'labs 1-4 judged, 1 and 4 complete')
  const missing = logs.filter((l) => l.message === 'labs with an incomplete upload')
  t.equal(missing.length, 1)
  t.same(missing[0]?.data.missingLabIds, [2, 3], 'the one short reading and the missing hour are both found')
  t.same(missing[0]?.data.window, { start: '2026-11-24T23:00:00.000Z', end: '2026-11-25T23:00:00.000Z', timeZone: 'UTC' })
  t.match(logs.find((l) => l.message === 'upload completeness')?.data, { registered: 4, complete: 2, missingCount: 2 })
})

t.test('a zone whose offset is not whole hours is judged minute by minute', async (t) => {
  const { db } = await createTestDatabase(t)
  const kolkata = { ...UTC, timeZone: 'Asia/Kolkata' }
  // 23:00 IST on 24 and 25 November = 17:30 UTC.
  const start = utc('2026-11-24T17:30:00Z')
  const end = utc('2026-11-25T17:30:00Z')
  for (const id of [7, 8]) await createLab(db, { id, name: `Lab ${id}`, address: 'B', nowMs: 0 })
  await storeReadings(db, day(7, start, end))
  await storeReadings(db, day(8, start, end, (ms) => ms === end - 30_000))
  const { metrics, lines } = capture()
  const logs: Array<{ data: Record<string, unknown>, message: string }> = []
  const log = { info: () => {}, warn: (data: object, message: string) => { logs.push({ data: data as Record<string, unknown>, message }) } }
  const report = await reportCompleteness(db, kolkata, utc('2026-11-25T21:00:00Z'), metrics, log)
  metrics.close()
  t.same([report.startMs, report.endMs, report.bucket], [start, end, 'minute'])
  t.same(readEmfLine(lines[0] ?? '').map((d) => [d.name, d.values[0]]), [['LabsRegistered', 2], ['LabsCompleteLastUpload', 1]])
  t.same(logs[0]?.data.missingLabIds, [8], 'the last reading before 23:00 IST is missing')
})
