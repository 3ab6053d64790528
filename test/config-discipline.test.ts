// Configuration is read once, at start-up, by the entry points' config loaders; nothing else in the
// service's code reads the environment, and no code branches on NODE_ENV. (Tests and benchmarks are
// harnesses: they set the environment of the processes they start.)
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { REPO_ROOT } from '@labclimate/testkit/processes'

// Entry points hand process.env to their loader; CDK reads account, region and stage only in bin/.
const ENTRY_POINTS = new Set([
  'apps/api/src/server.ts', 'apps/worker/src/main.ts', 'apps/worker/src/maintenance-main.ts', 'apps/worker/src/admin-main.ts', 'apps/cli/src/main.ts',
  'packages/store/src/migrate-cli.ts', 'apps/cli/src/local-stack/launcher.ts', 'scripts/test.ts', 'infra/bin/labclimate.ts'
])

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'cdk.out' || entry.name.startsWith('.')) return []
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sources(path) : /\.(ts|js|mjs)$/.test(entry.name) ? [path] : []
  })
}

// The test harness is a package too, but a harness: like the tests, it sets the environment of what it starts.
const HARNESSES = new Set(['packages/testkit'])

const serviceCode = (): string[] => [
  ...['apps', 'packages'].flatMap((d) => readdirSync(join(REPO_ROOT, d)).filter((p) => !HARNESSES.has(`${d}/${p}`)).map((p) => join(REPO_ROOT, d, p, 'src'))),
  join(REPO_ROOT, 'infra/lib'), join(REPO_ROOT, 'infra/bin'), join(REPO_ROOT, 'scripts')
].flatMap((dir) => { try { return sources(dir) } catch { return [] } }).map((f) => relative(REPO_ROOT, f))

// Comments may mention the environment; code may not read it.
const code = (f: string): string => readFileSync(join(REPO_ROOT, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')

t.test('only entry points read process.env, and no code reads NODE_ENV', async (t) => {
  const files = serviceCode()
  t.ok(files.length > 40, `${files.length} source files checked`)
  t.same(files.filter((f) => !ENTRY_POINTS.has(f) && /process\.env\b/.test(code(f))), [], 'no other file reads process.env')
  t.same(files.filter((f) => /NODE_ENV/.test(code(f))), [], 'no code reads NODE_ENV')
})
