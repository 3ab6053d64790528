// `pnpm migrate`: brings the database named by DATABASE_URL up to date (DATABASE_TLS, DATABASE_IAM_AUTH as the apps).
import { loadOrExit, readDatabaseSecurity, readEnv, type Env } from '@labclimate/config'
import { connectDatabase, type ConnectOptions } from './connect.ts'
import { migrateToLatest } from './migrate.ts'

function loadMigrateConfig (env: Env): ConnectOptions {
  const read = readEnv(env)
  const url = read.url('DATABASE_URL', ['mysql'], { required: true }) ?? ''
  const security = readDatabaseSecurity(read)
  read.done()
  return { url, poolSize: 1, ...security }
}

const db = connectDatabase(loadOrExit(loadMigrateConfig, process.env))
try {
  const applied = await migrateToLatest(db)
  console.log(applied.length === 0 ? 'schema is up to date' : `applied: ${applied.join(', ')}`)
} catch (error) {
  console.error(error)
  process.exitCode = 1
} finally {
  await db.destroy()
}
