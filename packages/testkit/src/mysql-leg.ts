// The MySQL leg of `pnpm test`: every database-backed test file (database-tests.ts) runs a
// second time with TEST_DATABASE_URL on real MySQL (mysql-server.ts), so SQL that only
// MariaDB accepts fails here and not first on Aurora. Its counts join the closing line, and a line of its
// own ("mysql: N passed, N failed") names the engine when something fails only there.
import { containerSupport } from './containers.ts'
import { databaseTestFiles } from './database-tests.ts'
import { startMySql } from './mysql-server.ts'

export interface Counts { pass: number, fail: number, skip: number }

/**
 * Starts MySQL, runs `files` (default: every database-backed file) through `runTap` with the test database
 * on it, stops it. Where podman cannot run, the leg fails under CI=true and otherwise skips, saying why.
 */
export async function runMySqlLeg (
  runTap: (files: string[], env: Record<string, string>) => Promise<Counts>,
  say: (line: string) => void,
  files: string[] = databaseTestFiles()
): Promise<Counts> {
  const started = Date.now()
  const unsupported = containerSupport(say)
  if (unsupported !== undefined) {
    if (process.env.CI === 'true') {
      say(`MySQL leg FAILED: ${unsupported}`)
      console.log('mysql: 0 passed, 1 failed, 0 skipped (no container support)')
      return { pass: 0, fail: 1, skip: 0 }
    }
    say(`MySQL leg SKIPPED (${files.length} database-backed files not run on MySQL): ${unsupported}`)
    console.log(`mysql: 0 passed, 0 failed, 1 skipped (the MySQL leg: ${unsupported})`)
    return { pass: 0, fail: 0, skip: 1 }
  }
  let counts: Counts
  let server: Awaited<ReturnType<typeof startMySql>> | undefined
  try {
    server = await startMySql(say)
    say(`MySQL leg: ${server.version} at ${server.url}; ${files.length} database-backed files: ${files.join(' ')}`)
    console.log(`# MySQL leg (${server.version}): the database-backed test files again`)
    counts = await runTap(files, { TEST_DATABASE_URL: server.url })
  } catch (error) {
    say(`MySQL leg: ${error instanceof Error ? error.message : String(error)}`)
    counts = { pass: 0, fail: 1, skip: 0 }
  } finally {
    await server?.stop()
  }
  const seconds = Math.round((Date.now() - started) / 1000)
  console.log(`mysql: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped (${server?.version ?? 'MySQL'}, ${seconds} s)`)
  return counts
}
