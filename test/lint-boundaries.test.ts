// The boundary rule must catch each way code reached into another workspace package before issue 16,
// and must leave a package's own relative imports alone.
import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'
import t from 'tap'
import tseslint from 'typescript-eslint'
import { noCrossPackagePaths } from '../scripts/lint/no-cross-package-paths.js'

// This file belongs to the root package, so its parent folder is the repository.
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))

const eslint = new ESLint({
  cwd: REPO_ROOT,
  overrideConfigFile: true,
  overrideConfig: [{
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { labclimate: { rules: { 'no-cross-package-paths': noCrossPackagePaths } } },
    rules: { 'labclimate/no-cross-package-paths': 'error' }
  }]
})

async function crossings (filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${REPO_ROOT}${filePath}` })
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`)
}

const crossing = [
  ['a package test importing an app', 'packages/config/test/x.test.ts', "import { loadApiConfig } from '../../../apps/api/src/config.ts'"],
  ['an app test importing the root test support', 'apps/worker/test/x.test.ts', "import { waitFor } from '../../../test/support/wait.ts'"],
  ['a root script importing an app test helper', 'scripts/x.ts', "import { buildTestApp } from '../apps/api/test/helper.ts'"],
  [
    'an app test importing another package by path',
    'apps/worker/test/x.test.ts',
    "import { migrations } from '../../../packages/store/src/migrations/index.ts'"
  ],
  ['a re-export by path', 'packages/admin/src/x.ts', "export { storeReadings } from '../../store/src/index.ts'"],
  ['a dynamic import by path', 'apps/cli/src/x.ts', "await import('../../api/src/app.ts')"],
  ['a spawned path outside the package', 'apps/cli/src/x.ts', "spawn(process.execPath, [fileURLToPath(new URL('../../../scripts/dev.ts', import.meta.url))])"]
] as const

for (const [what, file, code] of crossing) {
  t.test(`flags ${what}`, async (t) => {
    const found = await crossings(file, code)
    t.equal(found.length, 1, found.join('; '))
    t.match(found[0] ?? '', /labclimate\/no-cross-package-paths: .* leaves this workspace package/)
  })
}

const inside = [
  ['a sibling module', 'apps/api/src/query/x.ts', "import { DAY_MS } from './averages.ts'"],
  ['a parent folder of the same package', 'packages/store/src/lifecycle/backends/x.ts', "import { partitionName } from '../partitions.ts'"],
  ['a package test importing its own src', 'packages/store/test/x.test.ts', "import { storeReadings } from '../src/index.ts'"],
  ['the root package across its own folders', 'test/x.test.ts', "import { noCrossPackagePaths } from '../scripts/lint/no-cross-package-paths.js'"],
  ['an import by package name', 'apps/worker/test/x.test.ts', "import { waitFor } from '@labclimate/testkit/wait'"],
  ['a file beside the module', 'apps/api/src/dashboard/x.ts', "const page = new URL('./assets/index.html', import.meta.url)"]
] as const

for (const [what, file, code] of inside) {
  t.test(`leaves ${what} alone`, async (t) => {
    t.same(await crossings(file, code), [])
  })
}
