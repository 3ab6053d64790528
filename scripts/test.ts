// `pnpm test`: the whole suite with tap (unit, integration on MariaDB + SQS, end to end on real
// processes, typecheck), then one plain closing line "N passed, N failed" for CI.
// Extra arguments go to tap, e.g. `pnpm test apps/api/test/ingest.test.ts`.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const tapBin = fileURLToPath(new URL('../node_modules/.bin/tap', import.meta.url))
const child = spawn(tapBin, ['--reporter=tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] })

let last = ''
let summary: { pass: number, fail: number } | undefined
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk)
  const text = last + chunk.toString()
  const lines = text.split('\n')
  last = lines.pop() ?? ''
  for (const line of lines) {
    // tap's top-level summary: "# { total: 12, pass: 11, fail: 1, skip: 0 }" (zero counts may be left out)
    const match = /^# \{ total: (\d+)(.*)\}$/.exec(line)
    if (match !== null) {
      const count = (name: string): number => Number(new RegExp(`${name}: (\\d+)`).exec(match[2] ?? '')?.[1] ?? 0)
      summary = { pass: count('pass'), fail: count('fail') }
    }
  }
})

child.on('close', (code) => {
  const { pass, fail } = summary ?? { pass: 0, fail: 1 }
  // A run that exits non-zero without a failed test (a crash, a bail-out) still counts as failing.
  const failed = code !== 0 && fail === 0 ? 1 : fail
  console.log(`${pass} passed, ${failed} failed`)
  process.exit(code ?? 1)
})
