// Node runs our TypeScript by stripping types, which checks nothing: the compiler checks here.
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { REPO_ROOT } from '@labclimate/testkit/processes'

t.test('tsc --noEmit passes on every app, package, test and script (strict)', async (t) => {
  const result = spawnSync(`${REPO_ROOT}node_modules/.bin/tsc`, ['-p', 'tsconfig.json'], { cwd: REPO_ROOT, encoding: 'utf8' })
  t.equal(result.status, 0, result.stdout + result.stderr)
})
