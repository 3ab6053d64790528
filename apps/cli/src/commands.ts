import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { databaseCommands, UsageError, type Command } from '@labclimate/admin'
import { createApiKey, createLab } from '@labclimate/store'
import { createFleetThroughApi, formatSummary, parseSimulateArgs, simulate, SIMULATE_USAGE, SimulateUsageError, type Fleet } from './simulate.ts'

// The database commands are shared with the worker image's admin entry point (@labclimate/admin).
export { UsageError, type Command, type CommandContext } from '@labclimate/admin'

export const COMMANDS: Command[] = [
  {
    name: 'start',
    summary: 'start the local stack: API, worker and an embedded SQS server; SQLite in ./data unless DATABASE_URL is set (as pnpm dev)',
    usage: 'labclimate start   (PORT, DATABASE_URL, LABCLIMATE_DATA_DIR from the environment)',
    run: async () => {
      const dev = spawn(process.execPath, [fileURLToPath(new URL('local-stack/launcher.ts', import.meta.url))], { stdio: 'inherit' })
      // The stack stops on Ctrl-C: the signal reaches both processes; this one waits for the launcher.
      process.on('SIGINT', () => {})
      const code = await new Promise<number | null>((resolve) => dev.once('exit', resolve))
      if (code !== 0) throw new Error(`the local stack stopped with exit code ${code ?? 'none'}`)
    }
  },
  ...databaseCommands('labclimate'),
  {
    name: 'simulate',
    summary: 'a device fleet posting day batches or live 30 s readings to an API, with a summary',
    usage: SIMULATE_USAGE,
    run: async (args, ctx) => {
      let options
      try {
        options = parseSimulateArgs(args)
      } catch (error) {
        throw error instanceof SimulateUsageError ? new UsageError(error.message) : error
      }
      const stamp = new Date(ctx.now()).toISOString().slice(0, 19)
      let fleet: Fleet
      if (options.adminKey !== undefined) {
        fleet = await createFleetThroughApi(options.url, options.adminKey, options.labs, fetch, stamp)
      } else {
        fleet = { labs: [] }
        for (let i = 0; i < options.labs; i++) {
          const lab = await createLab(ctx.db(), { name: `Simulated lab ${i + 1} (${stamp})`, address: `Sim building, room ${i + 1}`, nowMs: ctx.now() })
          const { key } = await createApiKey(ctx.db(), { role: 'device', labId: lab.id, label: `simulator device of lab ${lab.id}`, nowMs: ctx.now() })
          fleet.labs.push({ labId: lab.id, deviceKey: key })
        }
      }
      const summary = await simulate(options, fleet, {
        fetch,
        now: ctx.now,
        sleep: async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms)) },
        progress: { write: (text) => { process.stderr.write(text) }, isTTY: process.stderr.isTTY }
      })
      ctx.print(options.json ? JSON.stringify(summary) : formatSummary(summary))
      if (summary.requests === 0 || Object.keys(summary.errors).length > 0) process.exitCode = 1
    }
  }
]

export const CLI_TITLE = 'labclimate: operate a labclimate database (DATABASE_URL=mysql://user:pass@host:port/db, or sqlite:<file> for the embedded mode)'
