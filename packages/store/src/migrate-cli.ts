// `pnpm migrate`: the admin `migrate` command's rules (DATABASE_URL mysql: or sqlite:, DATABASE_TLS, DATABASE_IAM_AUTH)
// for a checkout without the CLI built; both call migrateToLatest.
import { loadOrExit, readDatabaseSecurity, readEnv, type Env } from '@labclimate/config'
import { connectDatabase, type ConnectOptions } from './connect.ts'
import { migrateToLatest } from './migrate.ts'

function loadMigrateConfig (env: Env): ConnectOptions {
  const read = readEnv(env)
  const url = read.url('DATABASE_URL', ['mysql', 'sqlite'], { required: true }) ?? ''
  const security = readDatabaseSecurity(read)
  read.done()
  return { url, poolSize: 1, ...security }
}

const db = connectDatabase(loadOrExit(loadMigrateConfig, process.env))
try {
  await migrateToLatest(db, { print: (line) => { console.log(line) } })
} catch (error) {
  console.error(error)
  process.exitCode = 1
} finally {
  await db.destroy()
}
