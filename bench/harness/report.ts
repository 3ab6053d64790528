// The results of a run: `summary.json` and one `figure-N.json` a figure in `out`, and the table on stdout.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Harness } from './context.ts'

export async function writeResults (harness: Harness, options: { smoke: boolean, out: string }): Promise<void> {
  const { machine, rounds, figures } = harness
  figures.sort((a, b) => a.id - b.id)
  const summary = { date: new Date().toISOString(), mode: options.smoke ? 'smoke' : 'full', machine, rounds, seconds: harness.seconds(), figures }
  await mkdir(options.out, { recursive: true })
  for (const f of figures) {
    await writeFile(join(options.out, `figure-${f.id}.json`), JSON.stringify({ date: summary.date, mode: summary.mode, machine, ...f }, null, 2) + '\n')
  }
  await writeFile(join(options.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')

  const fmt = (x: number | null): string => x === null ? '—' : x.toLocaleString('en', { maximumFractionDigits: 3 })
  console.log(`\nlabclimate bench (${summary.mode}) ${summary.date}`)
  console.log(`machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}, ` +
    `MariaDB ${machine.mariadb}; ${summary.seconds} s`)
  console.log(`ratio (min–max): median of ${rounds} rounds alternating the measured route and its baseline, with the per-round spread`)
  console.log('| # | figure | value | baseline | ratio (min–max) | target | met |')
  console.log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const f of figures) {
    const baseline = f.baseline === null ? '—' : `${fmt(f.baseline)} (${f.baselineName ?? ''})`
    const spread = f.ratioSpread === null ? '' : ` (${fmt(f.ratioSpread.min)}–${fmt(f.ratioSpread.max)})`
    console.log(`| ${f.id} | ${f.name} | ${fmt(f.value)} ${f.unit} | ${baseline} | ${fmt(f.ratio)}${spread} | ${f.target} | ${f.met ? 'yes' : 'NO'} |`)
  }
  console.log(`results: ${options.out}`)
}
