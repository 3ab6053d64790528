#!/usr/bin/env node
// `labclimate`: the operators' command line. DATABASE_URL (and DATABASE_TLS, DATABASE_IAM_AUTH) is read here, once.
import { runCommandLine } from '@labclimate/admin'
import { readDatabaseSecurity, readEnv } from '@labclimate/config'
import { connectDatabase } from '@labclimate/store'
import { CLI_TITLE, COMMANDS } from './commands.ts'

await runCommandLine(COMMANDS, process.argv.slice(2), {
  title: CLI_TITLE,
  program: 'labclimate',
  openDatabase: () => {
    const read = readEnv(process.env)
    const url = read.url('DATABASE_URL', ['mysql', 'sqlite'], { required: true }) ?? ''
    const security = readDatabaseSecurity(read)
    read.done()
    return connectDatabase({ url, poolSize: 1, ...security })
  }
})
