// Figure 4, all-labs averages at fleet scale: p99 of `GET /labs` through the real API over a database of 46,000
// labs with a day of rollups each, with `GET /labs/{id}`, the 24 h minute series and the `windowTotals` query
// itself beside it, at 1× and at 10× raw volume (raw rows do not enter the averages query, so its cost is flat).
import { DAY_MS } from '@labclimate/config'
import { createApiKey, windowTotals } from '@labclimate/store'
import { createConnection } from 'mysql2/promise'
import { round, summarize } from '../lib.ts'
import type { BenchContext } from '../harness/context.ts'
import { PER_DAY } from '../harness/data.ts'

const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000
const DIGITS = '(SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 ' +
  'UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)'

/** Its own database: generates the fleet's rollups, then measures through its own API process. */
export async function allLabsQuery (ctx: BenchContext): Promise<void> {
  const { sizes, log } = ctx
  const fleet = await ctx.scratchDatabase()
  const conn = await createConnection(fleet.url)
  const q = async (text: string): Promise<void> => { await conn.query(text) }
  const L = sizes.fleetLabs
  const SAMPLE = sizes.sampleLabs
  const nowMs = Date.now()
  const endMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS
  const startMs = endMs - DAY_MS
  const firstHour = Math.ceil(startMs / HOUR_MS) * HOUR_MS
  const lastHour = Math.floor(endMs / HOUR_MS) * HOUR_MS
  const MARGIN = 2 * MINUTE_MS // the window moves while we measure
  log(`figure 4: generating rollups for ${L} labs`)
  const tg = performance.now()
  await q('CREATE TABLE nums (n INT PRIMARY KEY)')
  await q(`INSERT INTO nums SELECT a.n + 10*b.n + 100*c.n + 1000*d.n + 10000*e.n FROM ${DIGITS} a, ${DIGITS} b, ${DIGITS} c, ${DIGITS} d, ${DIGITS} e`)
  await q(`INSERT INTO labs (id, name, address, created_at_ms) SELECT n + 1, CONCAT('Lab ', n + 1), 'bench', ${nowMs} FROM nums WHERE n < ${L}`)
  const cols = '(lab_id, bucket_start_ms, reading_count, temperature_sum, temperature_min, temperature_max, humidity_sum, humidity_min, humidity_max)'
  // a lab's values: 2 readings a minute, 120 an hour
  const vals = (count: number): string =>
    `${count}, ${count} * (20000 + (l.n % 50) * 100), 19500 + (l.n % 50) * 100, 20500 + (l.n % 50) * 100, ${count} * 45000, 44000, 46000`
  const hour0 = Math.floor(startMs / HOUR_MS) * HOUR_MS - HOUR_MS
  const hours = Math.ceil((endMs + HOUR_MS - hour0) / HOUR_MS)
  await q(`INSERT INTO reading_rollups_hour ${cols} SELECT l.n + 1, ${hour0} + h.n * ${HOUR_MS}, ${vals(120)} ` +
    `FROM nums l JOIN nums h ON h.n < ${hours} WHERE l.n < ${L}`)
  // minute rollups: every minute of the day for the sample labs, the two partial-hour edges (± margin) for the others
  const minute0 = startMs - MARGIN
  const minutes = (endMs + MARGIN - minute0) / MINUTE_MS
  const edge = (at: number): boolean => (at >= startMs - MARGIN && at < firstHour + MARGIN) || (at >= lastHour - MARGIN && at < endMs + MARGIN)
  const edgeOffsets = Array.from({ length: minutes }, (_, i) => i).filter((i) => edge(minute0 + i * MINUTE_MS))
  await q(`INSERT INTO reading_rollups_minute ${cols} SELECT l.n + 1, ${minute0} + m.n * ${MINUTE_MS}, ${vals(2)} ` +
    `FROM nums l JOIN nums m ON m.n < ${minutes} WHERE l.n < ${SAMPLE}`)
  await q('CREATE TABLE edge_minutes (n INT PRIMARY KEY)')
  await conn.query('INSERT INTO edge_minutes (n) VALUES ?', [edgeOffsets.map((n) => [n])])
  await q(`INSERT INTO reading_rollups_minute ${cols} SELECT l.n + 1, ${minute0} + m.n * ${MINUTE_MS}, ${vals(2)} ` +
    `FROM nums l JOIN edge_minutes m WHERE l.n >= ${SAMPLE} AND l.n < ${L}`)
  // raw readings at 1x for the sample labs: one every 30 s over the window
  await q(`INSERT INTO readings SELECT l.n + 1, ${startMs} + m.n * 30000, 20000 + (l.n % 50) * 100, 45000 ` +
    `FROM nums l JOIN nums m ON m.n < ${PER_DAY} WHERE l.n < ${SAMPLE}`)
  for (const t of ['readings', 'reading_rollups_minute', 'reading_rollups_hour']) await q(`ANALYZE TABLE ${t}`)
  const count = async (t: string): Promise<number> => {
    const [r] = await conn.query(`SELECT COUNT(*) AS n FROM ${t}`) as unknown as [Array<{ n: number }>]
    return Number(r[0]?.n)
  }
  const rowCounts = async (): Promise<Record<string, number>> =>
    ({ readings: await count('readings'), minuteRollups: await count('reading_rollups_minute'), hourRollups: await count('reading_rollups_hour') })
  const generated = await rowCounts()
  const generateSeconds = round((performance.now() - tg) / 1000, 1)
  log(`figure 4: generated ${JSON.stringify(generated)} in ${generateSeconds} s`)

  const readKey = (await createApiKey(fleet.db, { role: 'read', label: 'bench read', nowMs })).key
  const api = await ctx.startApi(fleet.url)
  const headers = { authorization: `Bearer ${readKey}` }
  const timeGets = async (path: (i: number) => string, n: number, capMs: number): Promise<ReturnType<typeof summarize> & { bytes: number, labs?: number }> => {
    const times: number[] = []
    let bytes = 0
    let labs: number | undefined
    const stop = performance.now() + capMs
    for (let i = 0; i < n && performance.now() < stop; i++) {
      const t = performance.now()
      const res = await fetch(`${api.base}${path(i)}`, { headers })
      const body = Buffer.from(await res.arrayBuffer())
      times.push(performance.now() - t)
      if (res.status !== 200) throw new Error(`GET ${path(i)} answered ${res.status}: ${body.toString('utf8', 0, 300)}`)
      bytes = body.length
      if (i === 0 && body[0] === 0x5b) labs = (JSON.parse(body.toString()) as unknown[]).length
    }
    return { ...summarize(times), bytes, ...(labs === undefined ? {} : { labs }) }
  }
  const direct = async (): Promise<ReturnType<typeof summarize>> => {
    const times: number[] = []
    for (let i = 0; i < sizes.directQueries; i++) {
      const t = performance.now()
      const end = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS + MINUTE_MS
      await windowTotals(fleet.db, { startMs: end - DAY_MS, endMs: end })
      times.push(performance.now() - t)
    }
    return summarize(times)
  }
  const measure = async (): Promise<Record<string, unknown>> => {
    const query = await direct()
    const allLabs = await timeGets(() => '/labs', sizes.allLabsRequests, 45_000)
    const sampleLab = (i: number): number => 1 + (i * 7919) % SAMPLE
    const labDetail = await timeGets((i) => `/labs/${sampleLab(i)}`, sizes.perLabRequests, 20_000)
    const series = await timeGets((i) => `/labs/${sampleLab(i)}/readings`, sizes.perLabRequests, 20_000)
    return { rows: await rowCounts(), windowTotalsQueryMs: query, getLabsMs: allLabs, getLabDetailMs: labDetail, getSeriesMinute24hMs: series }
  }
  log('figure 4: measuring at 1x raw volume')
  const at1 = await measure()
  log('figure 4: adding raw readings up to 10x (one every 3 s) for the sample labs')
  await q(`INSERT INTO readings SELECT l.n + 1, ${startMs} + m.n * 3000, 20000 + (l.n % 50) * 100, 45000 ` +
    `FROM nums l JOIN nums m ON m.n < ${PER_DAY * 10} AND m.n % 10 <> 0 WHERE l.n < ${SAMPLE}`)
  await q('UPDATE reading_rollups_minute SET reading_count = reading_count * 10, temperature_sum = temperature_sum * 10, ' +
    `humidity_sum = humidity_sum * 10 WHERE lab_id <= ${SAMPLE}`)
  await q('ANALYZE TABLE readings')
  log('figure 4: measuring at 10x raw volume')
  const at10 = await measure()
  await conn.end()
  await ctx.stopProc(api.proc)
  await fleet.db.destroy()
  const p = (m: Record<string, unknown>, k: string): number => (m[k] as { p99: number }).p99
  const labsP99 = Math.max(p(at1, 'getLabsMs'), p(at10, 'getLabsMs'))
  const perLabP99 = Math.max(p(at1, 'getLabDetailMs'), p(at10, 'getLabDetailMs'), p(at1, 'getSeriesMinute24hMs'), p(at10, 'getSeriesMinute24hMs'))
  ctx.record({
    id: 4,
    name: `GET /labs p99, ${L.toLocaleString('en')} labs × 24 h`,
    value: labsP99,
    unit: 'ms (p99)',
    baseline: null,
    baselineName: null,
    ratio: round(p(at10, 'getLabsMs') / p(at1, 'getLabsMs'), 3),
    target: 'GET /labs p99 <= 100 ms; per-lab series and averages p99 <= 10 ms; flat from 1x to 10x raw',
    met: labsP99 <= 100 && perLabP99 <= 10,
    checks: {
      'GET /labs answered one entry per lab at 1x': (at1.getLabsMs as { labs?: number }).labs === L,
      'GET /labs answered one entry per lab at 10x': (at10.getLabsMs as { labs?: number }).labs === L
    },
    details: {
      labs: L,
      sampleLabsWithRaw: SAMPLE,
      generateSeconds,
      perLabP99,
      at1x: at1,
      at10x: at10,
      ratioNote: 'ratio = GET /labs p99 at 10x raw / at 1x raw (flat = ~1)'
    }
  })
}
