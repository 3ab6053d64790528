// ESLint flat config: neostandard (as Fastify's repositories use it) + typescript-eslint's type-aware promise
// rules + a line-length limit + the workspace-boundary rule (scripts/lint/no-cross-package-paths.js). `pnpm lint` runs it with zero warnings allowed.
import globals from 'globals'
import neostandard from 'neostandard'
import { noCrossPackagePaths } from './scripts/lint/no-cross-package-paths.js'

export default [
  ...neostandard({
    ts: true,
    ignores: ['**/dist/**', '**/node_modules/**', '**/cdk.out/**', 'bench/results/**', 'coverage/**', '.tap/**', 'data/**', '.cache/**']
  }),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      // tap queues subtests itself and documents that `t.test()` (and its skip/todo/only forms) need not be awaited.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'skip', 'todo', 'only'], package: '@tapjs/test' }]
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // TypeScript reports real redeclarations; this rule only flags TypeBox's idiom of a schema const and its Static type sharing a name.
      '@typescript-eslint/no-redeclare': 'off'
    }
  },
  {
    // CDK constructs attach themselves to their scope: `new CfnOutput(this, ...)` for its side effect is the CDK idiom.
    files: ['infra/**/*.ts'],
    rules: { 'no-new': 'off' }
  },
  {
    // The dashboard's scripts run in the browser.
    files: ['apps/api/src/dashboard/**/*.js'],
    languageOptions: { globals: globals.browser }
  },
  {
    plugins: { labclimate: { rules: { 'no-cross-package-paths': noCrossPackagePaths } } },
    rules: {
      'labclimate/no-cross-package-paths': 'error',
      // `void promise` is how no-floating-promises marks a deliberately unawaited promise; other uses of void stay errors.
      'no-void': ['error', { allowAsStatement: true }],
      // 160 as the issue set it, strings and template literals included (a long message is split with +);
      // only URLs and regular expressions, which cannot be split without harm, may run longer.
      '@stylistic/max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }]
    }
  }
]
