#!/usr/bin/env node
// `labclimate`: the operators' command line. DATABASE_URL (and DATABASE_TLS, DATABASE_IAM_AUTH) is read here, once.
import { readDatabaseSecurity, readEnv } from '@labclimate/config'
import { connectDatabase, type Database } from '@labclimate/store'
import type { Kysely } from 'kysely'
import { findCommand, help, UsageError } from './commands.ts'

const argv = process.argv.slice(2)
const found = findCommand(argv)
if (found === undefined || argv.includes('--help') || argv.includes('-h')) {
  console.log(found === undefined ? help() : `usage: ${found.command.usage}\n\n${found.command.summary}`)
  process.exit(found === undefined && argv.length > 0 && !argv.includes('--help') && !argv.includes('-h') ? 2 : 0)
}

let db: Kysely<Database> | undefined
const database = (): Kysely<Database> => {
  if (db === undefined) {
    const read = readEnv(process.env)
    const url = read.url('DATABASE_URL', ['mysql', 'sqlite'], { required: true }) ?? ''
    const security = readDatabaseSecurity(read)
    read.done()
    db = connectDatabase({ url, poolSize: 1, ...security })
  }
  return db
}

try {
  await found.command.run(found.rest, { db: database, print: (line) => console.log(line), now: Date.now })
} catch (error) {
  console.error(error instanceof UsageError ? `${error.message}\nusage: ${found.command.usage}` : error instanceof Error ? error.message : String(error))
  process.exitCode = error instanceof UsageError ? 2 : 1
} finally {
  await db?.destroy()
}
