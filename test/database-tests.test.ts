// The MySQL leg's file list (@labclimate/testkit/database-tests) is found, not kept by hand: a test file is
// database-backed when its imports reach @labclimate/testkit/mysql, directly or through a helper.
import t from 'tap'
import { databaseTestFiles, NOT_ON_MYSQL } from '@labclimate/testkit/database-tests'

t.test('database-backed test files are found through their imports', async (t) => {
  const files = databaseTestFiles()
  t.ok(files.includes('test/e2e.test.ts'), 'a file importing @labclimate/testkit/mysql directly')
  t.ok(files.includes('apps/api/test/auth.test.ts'), 'a file reaching it through apps/api/test/helper.ts')
  t.ok(files.includes('test/postman.test.ts'), 'a file reaching it through the kit\'s app builder')
  t.ok(files.includes('packages/store/test/store-readings.test.ts'), 'the store on MySQL')
  for (const plain of ['packages/contract/test/units.test.ts', 'packages/store/test/sqlite.test.ts', 'test/typecheck.test.ts', 'test/database-tests.test.ts']) {
    t.notOk(files.includes(plain), `${plain}: no database, not in the MySQL leg`)
  }
  t.notOk(files.some((f) => f.includes('/chaos/')), 'the chaos test (not a *.test.ts; it restarts its own MariaDB) stays out')
  for (const [file, why] of Object.entries(NOT_ON_MYSQL)) {
    t.notOk(files.includes(file), `${file} left out: ${why}`)
  }
  t.ok(files.length >= 20, `${files.length} files run on both engines`)
})
