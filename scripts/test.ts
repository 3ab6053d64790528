// `pnpm test`: the whole suite with tap (unit, integration on MariaDB + SQS, end to end on real
// processes, typecheck), then the chaos tests (test/chaos/*.chaos.ts: they restart MariaDB, so they
// run alone, after everything else), then one plain closing line "N passed, N failed, N skipped" for CI,
// counting every assertion and skipped or todo subtest (tap's own count of test points), not files.
// A run that executed nothing fails; with CI=true so does any skip (todo is listed, not failed): CI is expected to run everything
// (the browser tests, cfn-lint, the chaos test, the container images), and a skip there hides that it did not.
// `pnpm test:chaos` runs only the chaos tests; other arguments go to tap (e.g. one test file).
// The full run ends with the MySQL leg (@labclimate/testkit/mysql-leg): the database-backed files again, on
// real MySQL in a container; `node scripts/test.ts --mysql [files]` runs only that leg.
//
// It installs what the suite needs beyond node_modules, so it runs on a machine with only Node and npm:
// a private MariaDB server for this run (@labclimate/testkit/mariadb-server; TEST_DATABASE_URL points the
// suite at a server of your own instead), Debian's Chromium for the browser tests, and podman, runc and
// mmdebstrap for the images test and the MySQL leg, when it may (root or passwordless sudo; without it those
// tests skip and say so).
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { readEnv } from '@labclimate/config'
import { containerSupport } from '@labclimate/testkit/containers'
import { suiteServer, type SuiteServer } from '@labclimate/testkit/mariadb-server'
import { runMySqlLeg } from '@labclimate/testkit/mysql-leg'

const root = fileURLToPath(new URL('..', import.meta.url))
const tapBin = `${root}node_modules/.bin/tap`
const chaosFiles = readdirSync(`${root}test/chaos`).filter((f) => f.endsWith('.chaos.ts')).map((f) => `test/chaos/${f}`)

interface Counts { pass: number, fail: number, skip: number }
/** "file > subtest: reason" of every skipped or todo test point, for the CI rule and the closing report. */
const skipped: string[] = []
/** What the test processes get on top of this environment: the suite's server, and how the chaos test may restart it. */
let suiteEnv: Record<string, string> = {}

let tapGroup: number | undefined
function killGroup (signal: NodeJS.Signals): void {
  if (tapGroup === undefined) return
  try { process.kill(-tapGroup, signal) } catch { /* the group is already gone */ }
}

/** A test point with a SKIP or TODO directive, at any depth: `ok 2 - name # SKIP reason`. */
const SKIP_LINE = /^(\s*)(?:not )?ok \d+(?: - (.*?))? # (SKIP|TODO)\b:? ?(.*)$/i
/** tap's closing line counts the test points of every file at every depth (asserts, skipped and todo subtests). */
const SUMMARY_LINE = /^# \{ total: (\d+)(.*)\}$/

/** Runs tap, passing its TAP output through, and reads its closing "# { total, pass, fail, skip, todo }" line. */
async function runTap (args: string[], testEnv: Record<string, string> = suiteEnv): Promise<Counts> {
  if (interrupted) return { pass: 0, fail: 0, skip: 0 } // e.g. Ctrl-C while the MySQL leg's server was starting
  return await new Promise((resolve) => {
    // tap leads a process group of its own holding every test process and the apps they start, so that
    // nothing outlives the run: the group is killed when tap ends (an app whose test was killed by a
    // timeout would otherwise live on) and when the run is interrupted (see `interrupt`).
    const child = spawn(tapBin, ['--reporter=tap', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: root,
      env: { ...process.env, ...testEnv },
      detached: true
    })
    tapGroup = child.pid
    let rest = ''
    let counts: Counts | undefined
    // Names of the open subtests by depth (4 spaces a level), so a skip is reported with the file it is in.
    const names: string[] = []
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk)
      const lines = (rest + chunk.toString()).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) {
        const subtest = /^(\s*)# Subtest: (.*)$/.exec(line)
        if (subtest !== null) names[(subtest[1] ?? '').length / 4] = subtest[2] ?? ''
        const skip = SKIP_LINE.exec(line)
        // tap marks subtests left out by --grep/only as "filter: …": not a skip of anything the suite meant to run.
        if (skip !== null && !(skip[4] ?? '').startsWith('filter:')) {
          const depth = (skip[1] ?? '').length / 4
          skipped.push(`${[...names.slice(0, depth), skip[2] ?? ''].join(' > ')}: ${skip[3]?.toUpperCase()} ${skip[4] ?? ''}`.trim())
        }
        const match = SUMMARY_LINE.exec(line)
        if (match !== null) {
          const count = (name: string): number => Number(new RegExp(`${name}: (\\d+)`).exec(match[2] ?? '')?.[1] ?? 0)
          counts = { pass: count('pass'), fail: count('fail'), skip: count('skip') + count('todo') }
        }
      }
    })
    child.on('close', (code) => {
      killGroup('SIGKILL')
      tapGroup = undefined
      const { pass, fail, skip } = counts ?? { pass: 0, fail: 0, skip: 0 }
      // A run that exits non-zero without a failed test (a crash, a bail-out) still counts as failing.
      resolve({ pass, fail: code !== 0 && fail === 0 ? 1 : fail, skip })
    })
  })
}

const say = (line: string): void => { process.stderr.write(`test: ${line}\n`) }

function ensureChromium (): void {
  if (existsSync('/usr/bin/chromium')) return
  const canSudo = (): boolean => { try { execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' }); return true } catch { return false } }
  const mayInstall = process.getuid?.() === 0 || canSudo()
  if (!mayInstall) { say('no /usr/bin/chromium and no root to install it: the browser tests will skip (sudo sh scripts/install-chromium.sh)'); return }
  try {
    execFileSync('sh', [`${root}scripts/install-chromium.sh`], { stdio: ['ignore', 'inherit', 'inherit'] })
  } catch {
    say('installing Chromium failed: the browser tests will skip')
  }
}

const env = readEnv(process.env)
const ownDatabaseUrl = env.url('TEST_DATABASE_URL', ['mysql'])
const inCi = env.bool('CI', { default: false })
env.done()

const args = process.argv.slice(2)
const mysqlOnly = args[0] === '--mysql'
const runs: string[][] = mysqlOnly ? [] : args[0] === '--chaos' ? [chaosFiles] : args.length > 0 ? [args] : [[], chaosFiles]
const mysqlLeg = mysqlOnly || args.length === 0
let total: Counts = { pass: 0, fail: 0, skip: 0 }
let database: SuiteServer | undefined
// Ctrl-C reaches only this process (tap's group is its own): end the tests; the server goes after them. `on`, not
// `once`: pnpm passes the signal on too, and a second one must not cut the server's shutdown short.
let interrupted = false
const interrupt = (): void => {
  if (interrupted) return
  interrupted = true
  say('interrupted: stopping the tests, their apps and the private MariaDB')
  killGroup('SIGTERM')
  // tap then ends, the loop below stops and `finally` shuts the server down.
  setTimeout(() => { killGroup('SIGKILL') }, 2000).unref()
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, interrupt)
try {
  ensureChromium()
  // podman, runc and mmdebstrap for the images test and the MySQL leg (installed here when root, like Chromium).
  containerSupport(say)
  if (ownDatabaseUrl !== undefined) say('MariaDB/MySQL from TEST_DATABASE_URL (the chaos test skips: it restarts only a server of its own)')
  if (runs.length > 0) {
    database = await suiteServer(ownDatabaseUrl, say)
    suiteEnv = { TEST_DATABASE_URL: database.url, ...(database.server === undefined ? {} : { TEST_MARIADB: JSON.stringify(database.server) }) }
  }
  for (const run of runs) {
    if (interrupted) break
    const counts = await runTap(run)
    total = { pass: total.pass + counts.pass, fail: total.fail + counts.fail, skip: total.skip + counts.skip }
  }
  if (mysqlLeg && !interrupted) {
    const counts = await runMySqlLeg(runTap, say, ...(mysqlOnly && args.length > 1 ? [args.slice(1)] : []))
    total = { pass: total.pass + counts.pass, fail: total.fail + counts.fail, skip: total.skip + counts.skip }
  }
} catch (error) {
  say(error instanceof Error ? error.message : String(error))
  total = { ...total, fail: total.fail + 1 }
} finally {
  await database?.stop()
}
for (const line of skipped) say(`skipped: ${line}`)
if (!interrupted && total.pass + total.fail === 0) {
  say('nothing ran: no test passed or failed (a wrong file name, a test that skipped itself, or tap found no files)')
  total = { ...total, fail: total.fail + 1 }
}
const skips = skipped.filter((line) => / SKIP\b/.test(line))
if (inCi && skips.length > 0) {
  say(`CI=true: ${skips.length} skipped test(s) count as failed: CI is expected to run every test, and a skip hides that it did not`)
  total = { ...total, fail: total.fail + skips.length }
}
console.log(`${total.pass} passed, ${total.fail} failed, ${total.skip} skipped`)
process.exit(interrupted ? 130 : total.fail === 0 ? 0 : 1)
