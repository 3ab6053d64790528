// `pnpm migrate`: brings the database named by DATABASE_URL up to date.
import { connectDatabase } from './connect.ts'
import { migrateToLatest } from './migrate.ts'

const url = process.env.DATABASE_URL
if (url === undefined || !/^mysql:\/\//.test(url)) {
  console.error('DATABASE_URL must be set to mysql://user:password@host:port/database')
  process.exit(2)
}
const db = connectDatabase({ url, poolSize: 1 })
try {
  const applied = await migrateToLatest(db)
  console.log(applied.length === 0 ? 'schema is up to date' : `applied: ${applied.join(', ')}`)
} catch (error) {
  console.error(error)
  process.exitCode = 1
} finally {
  await db.destroy()
}
