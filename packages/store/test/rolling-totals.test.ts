// The all-labs totals kept incrementally (changed labs re-read, the window's moved minutes added and subtracted)
// must equal sums computed from the input readings alone, whatever arrives late and however the window moves.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { Kysely } from 'kysely'
import type { Reading } from '@labclimate/contract'
import {
  CHANGE_MARGIN_MS,
  connectDatabase,
  migrateToLatest,
  refreshRollingTotals,
  storeReadings,
  type Database,
  type RollingTotals,
  type TimeWindow
} from '../src/index.ts'
import { createTestDatabase } from '@labclimate/testkit/mysql'

const MINUTE = 60_000
const DAY = 86_400_000
const T0 = Date.UTC(2026, 10, 25, 23, 17, 0)

/** Count and sums per lab of the readings in [startMs, endMs): the expectation, from the input alone. */
function expected (readings: readonly Reading[], w: TimeWindow): Record<number, [number, number, number]> {
  const out: Record<number, [number, number, number]> = {}
  const seen = new Set<string>()
  for (const r of readings) {
    const key = `${r.labId}:${r.recordedAtMs}`
    if (seen.has(key) || r.recordedAtMs < w.startMs || r.recordedAtMs >= w.endMs) continue
    seen.add(key)
    const e = out[r.labId] ?? [0, 0, 0]
    e[0]++; e[1] += r.temperatureMilliC; e[2] += r.humidityMilliPct
    out[r.labId] = e
  }
  return out
}

const actual = (totals: RollingTotals): Record<number, [number, number, number]> =>
  Object.fromEntries([...totals.byLab.values()].map((x) => [x.labId, [x.readingCount, x.temperatureSum, x.humiditySum]]))

async function sqlite (t: Test): Promise<Kysely<Database>> {
  const dir = mkdtempSync(join(tmpdir(), 'labclimate-rolling-'))
  const db = connectDatabase({ url: `sqlite:${join(dir, 'db.sqlite')}` })
  t.teardown(async () => { await db.destroy(); rmSync(dir, { recursive: true, force: true }) })
  await migrateToLatest(db)
  return db
}

for (const backend of ['mariadb', 'sqlite'] as const) {
  t.test(`${backend}: incremental refreshes equal sums of the readings through late data, moves and repeats`, async (t) => {
    const db = backend === 'sqlite' ? await sqlite(t) : (await createTestDatabase(t)).db
    let seed = 11
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
    const sent: Reading[] = []
    // Writers' wall clock, advanced by hand: stamps and checkpoints are compared on it.
    let wall = 1_000_000_000
    const store = async (batch: Reading[]): Promise<void> => { await storeReadings(db, batch, () => wall); sent.push(...batch) }
    const reading = (labId: number, atMs: number): Reading => ({
      labId,
      recordedAtMs: atMs - (atMs % 1000),
      temperatureMilliC: -5000 + rand(40_000),
      humidityMilliPct: rand(100_001)
    })

    // A day of readings for 6 labs (one every 5 minutes), window ending at T0.
    const day: Reading[] = []
    for (let lab = 1; lab <= 6; lab++) for (let at = T0 - DAY - 10 * MINUTE; at < T0; at += 5 * MINUTE + lab * 1000) day.push(reading(lab, at))
    await store(day)
    let window = { startMs: T0 - DAY, endMs: T0 }
    let { totals, stats } = await refreshRollingTotals(db, undefined, window, wall)
    t.ok(stats.full, 'the first refresh reads every lab')
    t.same(actual(totals), expected(sent, window))

    const steps: Array<{ name: string, moveMinutes: number, write: () => Reading[] }> = [
      { name: 'nothing new, window unmoved', moveMinutes: 0, write: () => [] },
      { name: 'window moves one minute', moveMinutes: 1, write: () => [] },
      {
        name: 'late data hours back for two labs',
        moveMinutes: 0,
        write: () => [reading(2, T0 - 5 * 3_600_000 + 7_000), reading(5, T0 - 20 * 3_600_000 + 9_000)]
      },
      {
        name: 'late data in the minutes about to leave, and the window moves past them',
        moveMinutes: 3,
        write: () => [reading(3, window.startMs + 30_000), reading(4, window.startMs + MINUTE + 1_000)]
      },
      { name: 'a new lab appears at the window end', moveMinutes: 2, write: () => [reading(9, window.endMs + 30_000)] },
      { name: 'a repeated upload (first write wins) plus new readings', moveMinutes: 1, write: () => [...day.slice(0, 20), reading(1, T0 + 4 * MINUTE)] },
      { name: 'live readings in the current minute', moveMinutes: 0, write: () => [reading(6, window.endMs - 20_000), reading(6, window.endMs - 10_000)] }
    ]
    for (const step of steps) {
      wall += 5_000
      await store(step.write())
      wall += 1_000
      window = { startMs: window.startMs + step.moveMinutes * MINUTE, endMs: window.endMs + step.moveMinutes * MINUTE }
      ;({ totals, stats } = await refreshRollingTotals(db, totals, window, wall))
      t.notOk(stats.full, `${step.name}: incremental`)
      t.same(actual(totals), expected(sent, window), step.name)
    }

    // Changes stamped long before the last check are not looked for again: the re-read set stays small.
    wall += CHANGE_MARGIN_MS + 1
    ;({ totals, stats } = await refreshRollingTotals(db, totals, window, wall))
    t.ok(stats.changedLabs > 0, 'a check looks back a margin before the previous one')
    wall += 1_000
    ;({ totals, stats } = await refreshRollingTotals(db, totals, window, wall))
    t.equal(stats.changedLabs, 0, 'labs changed before the margin are not re-read')

    // A long gap recomputes everything.
    window = { startMs: window.startMs + 60 * MINUTE, endMs: window.endMs + 60 * MINUTE }
    ;({ totals, stats } = await refreshRollingTotals(db, totals, window, wall))
    t.ok(stats.full, 'after a long gap every lab is read')
    t.same(actual(totals), expected(sent, window))
  })
}
