// Configuration is read once, at start-up, by the entry points' config loaders; nothing else reads the environment,
// and nothing branches on NODE_ENV.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { REPO_ROOT } from './support/processes.ts'

// Entry points hand process.env to their loader; test support reads the test database URL.
const ALLOWED = new Set(['apps/api/src/server.ts', 'apps/worker/src/main.ts', 'apps/worker/src/maintenance-main.ts', 'packages/store/src/migrate-cli.ts', 'scripts/dev.ts', 'apps/cli/src/main.ts', 'test/support/mysql.ts', 'test/support/processes.ts'])

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) return []
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sources(path) : entry.name.endsWith('.ts') ? [path] : []
  })
}

t.test('only entry points read process.env, and nobody reads NODE_ENV', async (t) => {
  const files = ['apps', 'packages', 'test', 'scripts'].flatMap((d) => sources(join(REPO_ROOT, d))).map((f) => relative(REPO_ROOT, f))
  t.ok(files.length > 20, `${files.length} source files checked`)
  const code = (f: string): string => readFileSync(join(REPO_ROOT, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  const readers = files.filter((f) => f !== 'test/config-discipline.test.ts' && /process\.env\b/.test(code(f)))
  t.same(readers.filter((f) => !ALLOWED.has(f)), [], 'no other file reads process.env')
  const nodeEnv = files.filter((f) => f !== 'test/config-discipline.test.ts' && /NODE_ENV/.test(readFileSync(join(REPO_ROOT, f), 'utf8')))
  t.same(nodeEnv, [], 'no file mentions NODE_ENV')
})
