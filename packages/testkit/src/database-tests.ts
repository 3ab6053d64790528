// Which test files are database-backed, in one place: those that reach test/support/mysql.ts (the module
// that makes each test file its own database) through their relative imports, directly or through a
// helper such as apps/api/test/helper.ts. The MySQL leg of `pnpm test` runs exactly these a second time,
// against real MySQL; a new test file that uses the database joins it without being listed anywhere.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { REPO_ROOT } from './processes.ts'

const DATABASE_MODULE = resolve(REPO_ROOT, 'test/support/mysql.ts')

/** Database-backed files left out of the MySQL leg, and why (keep this short). */
export const NOT_ON_MYSQL: Record<string, string> = {
  // Builds and runs both container images: what it asks of the database is what test/e2e.test.ts asks,
  // and that runs on MySQL. Twice the image runs would add minutes and prove nothing more about the engine.
  'test/images.test.ts': 'same database work as test/e2e.test.ts, which runs on MySQL'
}

const TEST_DIRS = ['apps/*/test', 'packages/*/test', 'test']

function testFiles (): string[] {
  const dirs = TEST_DIRS.flatMap((pattern) => {
    if (!pattern.includes('*')) return [join(REPO_ROOT, pattern)]
    const [top, rest] = pattern.split('/*/')
    return readdirSync(join(REPO_ROOT, top ?? '')).map((name) => join(REPO_ROOT, top ?? '', name, rest ?? ''))
  }).filter((dir) => existsSync(dir))
  return dirs.flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts') && !file.includes('node_modules'))
    .map((file) => join(dir, file)))
}

function reachesDatabase (file: string, seen: Set<string>): boolean {
  if (file === DATABASE_MODULE) return true
  if (seen.has(file) || !existsSync(file)) return false
  seen.add(file)
  const source = readFileSync(file, 'utf8')
  for (const match of source.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+\.ts)'/g)) {
    if (reachesDatabase(resolve(dirname(file), match[1] ?? ''), seen)) return true
  }
  return false
}

/** The database-backed test files (repo-relative, sorted) that run on both engines. */
export function databaseTestFiles (): string[] {
  return testFiles()
    .filter((file) => reachesDatabase(file, new Set()))
    .map((file) => relative(REPO_ROOT, file))
    .filter((file) => NOT_ON_MYSQL[file] === undefined)
    .sort()
}
