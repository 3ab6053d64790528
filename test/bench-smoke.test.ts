// The benchmark harness works: a smoke run (tiny sizes, under a minute) writes well-formed results.
// It asserts nothing about timings or ratios: those are figures, not tests (`pnpm bench`). It does assert that the
// ratio figures (1, 2, 3) are medians of alternating rounds with their spread, and that
// each figure checked its own work (accepted = sent, stored = accepted, the baseline did the same) and that held.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { REPO_ROOT } from '@labclimate/testkit/processes'
import { TEST_DATABASE_URL } from '@labclimate/testkit/mysql'

t.test('pnpm bench --smoke produces a result for each of the six figures', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'labclimate-bench-smoke-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const run = spawnSync(process.execPath, ['bench/run.ts', '--smoke', '--out', out], {
    cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', TEST_DATABASE_URL }, encoding: 'utf8', timeout: 110_000
  })
  t.equal(run.status, 0, `smoke run exits 0\n${run.stderr.slice(-3000)}`)
  t.match(run.stdout, /machine: \d+ cores/, 'prints the machine line')
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
    mode: string
    rounds: number
    machine: { cores: number, node: string }
    figures: Array<Record<string, unknown>>
  }
  t.equal(summary.mode, 'smoke')
  t.ok(summary.rounds >= 2, 'the ratio figures alternate the measured route and its baseline at least twice')
  t.ok(summary.machine.cores > 0 && summary.machine.node.startsWith('v'), 'machine recorded')
  t.same(summary.figures.map((f) => f.id), [1, 2, 3, 4, 5, 6], 'six figures')
  for (const f of summary.figures) {
    t.type(f.name, 'string'); t.type(f.unit, 'string'); t.type(f.target, 'string'); t.type(f.met, 'boolean')
    t.ok(typeof f.value === 'number' && Number.isFinite(f.value), `figure ${String(f.id)} has a finite value`)
    t.ok(f.ratio === null || typeof f.ratio === 'number', `figure ${String(f.id)} ratio is a number or null`)
    const checks = Object.entries((f.checks ?? {}) as Record<string, boolean>)
    t.ok(checks.length > 0, `figure ${String(f.id)} checks its own correctness`)
    t.same(checks.filter(([, ok]) => !ok).map(([what]) => what), [], `figure ${String(f.id)}: every correctness check held`)
    if ([1, 2, 3].includes(f.id as number)) {
      // a ratio figure is the median of its rounds, with their spread beside it
      const spread = f.ratioSpread as { min: number, max: number } | null
      const rounds = (f.details as { rounds?: Array<{ ratio: number }> }).rounds ?? []
      t.equal(rounds.length, summary.rounds, `figure ${String(f.id)} reports every round`)
      const ratios = rounds.map((r) => r.ratio).sort((a, b) => a - b)
      t.same(spread, { min: ratios[0], max: ratios.at(-1) }, `figure ${String(f.id)} spread is the min–max of its rounds' ratios`)
      t.ok(spread !== null && spread.min <= (f.ratio as number) && (f.ratio as number) <= spread.max, `figure ${String(f.id)} ratio lies within its spread`)
    }
    const file = JSON.parse(readFileSync(join(out, `figure-${String(f.id)}.json`), 'utf8')) as { id: number }
    t.equal(file.id, f.id, `figure-${String(f.id)}.json written`)
  }
})
