// `pnpm test`: the whole suite with tap (unit, integration on MariaDB + SQS, end to end on real
// processes, typecheck), then the chaos tests (test/chaos/*.chaos.ts: they restart MariaDB, so they
// run alone, after everything else), then one plain closing line "N passed, N failed" for CI.
// `pnpm test:chaos` runs only the chaos tests; other arguments go to tap (e.g. one test file).
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const tapBin = `${root}node_modules/.bin/tap`
const chaosFiles = readdirSync(`${root}test/chaos`).filter((f) => f.endsWith('.chaos.ts')).map((f) => `test/chaos/${f}`)

interface Counts { pass: number, fail: number }

/** Runs tap, passing its TAP output through, and reads its closing "# { total, pass, fail }" line. */
async function runTap (args: string[]): Promise<Counts> {
  return await new Promise((resolve) => {
    const child = spawn(tapBin, ['--reporter=tap', ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd: root })
    let rest = ''
    let counts: Counts | undefined
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk)
      const lines = (rest + chunk.toString()).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) {
        const match = /^# \{ total: (\d+)(.*)\}$/.exec(line)
        if (match !== null) {
          const count = (name: string): number => Number(new RegExp(`${name}: (\\d+)`).exec(match[2] ?? '')?.[1] ?? 0)
          counts = { pass: count('pass'), fail: count('fail') }
        }
      }
    })
    child.on('close', (code) => {
      const { pass, fail } = counts ?? { pass: 0, fail: 0 }
      // A run that exits non-zero without a failed test (a crash, a bail-out) still counts as failing.
      resolve({ pass, fail: code !== 0 && fail === 0 ? 1 : fail })
    })
  })
}

const args = process.argv.slice(2)
const runs: string[][] = args[0] === '--chaos' ? [chaosFiles] : args.length > 0 ? [args] : [[], chaosFiles]
let total: Counts = { pass: 0, fail: 0 }
for (const run of runs) {
  const counts = await runTap(run)
  total = { pass: total.pass + counts.pass, fail: total.fail + counts.fail }
}
console.log(`${total.pass} passed, ${total.fail} failed`)
process.exit(total.fail === 0 ? 0 : 1)
