// Which test files are database-backed, in one place: those whose imports reach the kit's mysql module (the
// one that makes each test file its own database), directly as `@labclimate/testkit/mysql` or through a helper
// such as apps/api/test/helper.ts or the kit's app builder. The MySQL leg of `pnpm test` runs exactly these a
// second time, against real MySQL; a new test file that uses the database joins it without being listed anywhere.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { REPO_ROOT } from './processes.ts'

const KIT = '@labclimate/testkit'
const KIT_DIR = fileURLToPath(new URL('..', import.meta.url))
const KIT_EXPORTS = (JSON.parse(readFileSync(join(KIT_DIR, 'package.json'), 'utf8')) as { exports: Record<string, string> }).exports
const DATABASE_MODULE = join(KIT_DIR, 'src/mysql.ts')

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
  // Import statements only: a line that starts with import, export or the closing brace of a multi-line import
  // (so code quoted inside a test, as in test/lint-boundaries.test.ts, is not taken for an import).
  for (const match of source.matchAll(/^(?:import|export|\})[^\n]*?from\s*'(\.\.?\/[^']+\.ts|@labclimate\/testkit(?:\/[^']+)?)'/gm)) {
    const target = importedFile(file, match[1] ?? '')
    if (target !== undefined && reachesDatabase(target, seen)) return true
  }
  return false
}

/** The file an import names: relative to the importer, or a testkit subpath through the kit's exports. */
function importedFile (importer: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) return resolve(dirname(importer), specifier)
  const target = KIT_EXPORTS[`.${specifier.slice(KIT.length)}`]
  return target === undefined ? undefined : join(KIT_DIR, target)
}

/** The database-backed test files (repo-relative, sorted) that run on both engines. */
export function databaseTestFiles (): string[] {
  return testFiles()
    .filter((file) => reachesDatabase(file, new Set()))
    .map((file) => relative(REPO_ROOT, file))
    .filter((file) => NOT_ON_MYSQL[file] === undefined)
    .sort()
}
