import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createApiKey, createLab, KEY_ROLES, listApiKeys, migrateToLatest, revokeApiKey, type Database, type KeyRole } from '@labclimate/store'
import type { Kysely } from 'kysely'
import { createFleetThroughApi, formatSummary, parseSimulateArgs, simulate, SIMULATE_USAGE, SimulateUsageError, type Fleet } from './simulate.ts'

export interface CommandContext {
  db: () => Kysely<Database>
  print: (line: string) => void
  now: () => number
}

export class UsageError extends Error {
  override name = 'UsageError'
}

export interface Command {
  name: string
  summary: string
  usage: string
  run: (args: string[], ctx: CommandContext) => Promise<void>
}

function options<T extends Record<string, { type: 'string' | 'boolean' }>> (args: string[], spec: T): { values: Record<string, string | boolean | undefined>, positionals: string[] } {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

function positiveInt (name: string, text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${name} must be a positive whole number`)
  return Number(text)
}

export const COMMANDS: Command[] = [
  {
    name: 'start',
    summary: 'start the local stack: API, worker and an embedded SQS server; SQLite in ./data unless DATABASE_URL is set (as pnpm dev)',
    usage: 'labclimate start   (PORT, DATABASE_URL, LABCLIMATE_DATA_DIR from the environment)',
    run: async () => {
      const dev = spawn(process.execPath, [fileURLToPath(new URL('../../../scripts/dev.ts', import.meta.url))], { stdio: 'inherit' })
      // The stack stops on Ctrl-C: the signal reaches both processes; this one waits for the launcher.
      process.on('SIGINT', () => {})
      const code = await new Promise<number | null>((resolve) => dev.once('exit', resolve))
      if (code !== 0) throw new Error(`the local stack stopped with exit code ${code ?? 'none'}`)
    }
  },
  {
    name: 'migrate',
    summary: 'apply database migrations',
    usage: 'labclimate migrate',
    run: async (_args, ctx) => {
      const applied = await migrateToLatest(ctx.db())
      ctx.print(applied.length === 0 ? 'schema is up to date' : `applied: ${applied.join(', ')}`)
    }
  },
  {
    name: 'labs create',
    summary: 'register a lab',
    usage: 'labclimate labs create --name <name> [--address <address>] [--id <id>]',
    run: async (args, ctx) => {
      const { values } = options(args, { name: { type: 'string' }, address: { type: 'string' }, id: { type: 'string' } })
      if (typeof values.name !== 'string' || values.name === '') throw new UsageError('--name is required')
      const lab = await createLab(ctx.db(), {
        name: values.name,
        address: typeof values.address === 'string' ? values.address : '',
        nowMs: ctx.now(),
        ...(values.id === undefined ? {} : { id: positiveInt('--id', values.id as string) })
      })
      ctx.print(`lab ${lab.id} created: ${lab.name}`)
    }
  },
  {
    name: 'labs list',
    summary: 'list labs',
    usage: 'labclimate labs list',
    run: async (_args, ctx) => {
      const labs = await ctx.db().selectFrom('labs').selectAll().orderBy('id').execute()
      for (const lab of labs) ctx.print(`${lab.id}\t${lab.name}\t${lab.address}`)
      ctx.print(`${labs.length} labs`)
    }
  },
  {
    name: 'keys create',
    summary: 'create an API key (printed once; only its hash is stored)',
    usage: 'labclimate keys create --role admin|read|device [--lab <labId>] --label <text>',
    run: async (args, ctx) => {
      const { values } = options(args, { role: { type: 'string' }, lab: { type: 'string' }, label: { type: 'string' } })
      const role = values.role as KeyRole
      if (!KEY_ROLES.includes(role)) throw new UsageError(`--role must be one of ${KEY_ROLES.join(', ')}`)
      if (typeof values.label !== 'string' || values.label === '') throw new UsageError('--label is required (who or what holds the key)')
      if ((role === 'device') !== (values.lab !== undefined)) throw new UsageError('a device key needs --lab; admin and read keys take none')
      const labId = values.lab === undefined ? null : positiveInt('--lab', values.lab as string)
      const { key, apiKey } = await createApiKey(ctx.db(), { role, labId, label: values.label, nowMs: ctx.now() })
      ctx.print(`key ${apiKey.id} (${role}${labId === null ? '' : ` for lab ${labId}`}): ${key}`)
      ctx.print('Store it now: it is not shown again. Send it as "Authorization: Bearer <key>".')
    }
  },
  {
    name: 'keys list',
    summary: 'list API keys (never the keys themselves)',
    usage: 'labclimate keys list',
    run: async (_args, ctx) => {
      for (const k of await listApiKeys(ctx.db())) {
        ctx.print(`${k.id}\t${k.prefix}…\t${k.role}\t${k.labId ?? '-'}\t${k.label}\t${k.revokedAtMs === null ? 'live' : `revoked ${new Date(k.revokedAtMs).toISOString()}`}`)
      }
    }
  },
  {
    name: 'keys revoke',
    summary: 'revoke an API key by id',
    usage: 'labclimate keys revoke <id>',
    run: async (args, ctx) => {
      const { positionals } = options(args, {})
      const id = positiveInt('id', positionals[0])
      if (!await revokeApiKey(ctx.db(), id, ctx.now())) throw new UsageError(`there is no live key ${id}`)
      ctx.print(`key ${id} revoked (API tasks stop accepting it within AUTH_CACHE_SECONDS)`)
    }
  },
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

export function help (): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  return [
    'labclimate: operate a labclimate database (DATABASE_URL=mysql://user:pass@host:port/db, or sqlite:<file> for the embedded mode)',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'labclimate <command> --help shows its options.'
  ].join('\n')
}

/** Finds the command named by the first one or two words of argv. */
export function findCommand (argv: string[]): { command: Command, rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const command = COMMANDS.find((c) => c.name === argv.slice(0, words).join(' '))
    if (command !== undefined) return { command, rest: argv.slice(words) }
  }
  return undefined
}
