// The operators' database commands: `labclimate <command>` on a laptop, `node dist/admin-main.js <command>`
// as a one-off task in the worker image. Only the database is needed; the caller supplies it.
import { parseArgs } from 'node:util'
import { createApiKey, createLab, KEY_ROLES, listApiKeys, migrateToLatest, revokeApiKey, type Database, type KeyRole } from '@labclimate/store'
import type { Kysely } from 'kysely'

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

export function options<T extends Record<string, { type: 'string' | 'boolean' }>> (
  args: string[],
  spec: T
): { values: Record<string, string | boolean | undefined>, positionals: string[] } {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

export function positiveInt (name: string, text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${name} must be a positive whole number`)
  return Number(text)
}

/** Usage lines name the program that runs them: `labclimate` or `node dist/admin-main.js`. */
export function databaseCommands (program: string): Command[] {
  return [
    {
      name: 'migrate',
      summary: 'apply database migrations',
      usage: `${program} migrate`,
      run: async (_args, ctx) => {
        await migrateToLatest(ctx.db(), { print: ctx.print })
      }
    },
    {
      name: 'labs create',
      summary: 'register a lab',
      usage: `${program} labs create --name <name> [--address <address>] [--id <id>]`,
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
      usage: `${program} labs list`,
      run: async (_args, ctx) => {
        const labs = await ctx.db().selectFrom('labs').selectAll().orderBy('id').execute()
        for (const lab of labs) ctx.print(`${lab.id}\t${lab.name}\t${lab.address}`)
        ctx.print(`${labs.length} labs`)
      }
    },
    {
      name: 'keys create',
      summary: 'create an API key (printed once; only its hash is stored)',
      usage: `${program} keys create --role admin|read|device [--lab <labId>] --label <text>`,
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
      usage: `${program} keys list`,
      run: async (_args, ctx) => {
        for (const k of await listApiKeys(ctx.db())) {
          const state = k.revokedAtMs === null ? 'live' : `revoked ${new Date(k.revokedAtMs).toISOString()}`
          ctx.print(`${k.id}\t${k.prefix}…\t${k.role}\t${k.labId ?? '-'}\t${k.label}\t${state}`)
        }
      }
    },
    {
      name: 'keys revoke',
      summary: 'revoke an API key by id',
      usage: `${program} keys revoke <id>`,
      run: async (args, ctx) => {
        const { positionals } = options(args, {})
        const id = positiveInt('id', positionals[0])
        if (!await revokeApiKey(ctx.db(), id, ctx.now())) throw new UsageError(`there is no live key ${id}`)
        ctx.print(`key ${id} revoked (API tasks stop accepting it within AUTH_CACHE_SECONDS)`)
      }
    }
  ]
}

/** Finds the command named by the first one or two words of argv. */
export function findCommand (commands: readonly Command[], argv: string[]): { command: Command, rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const command = commands.find((c) => c.name === argv.slice(0, words).join(' '))
    if (command !== undefined) return { command, rest: argv.slice(words) }
  }
  return undefined
}

export function help (commands: readonly Command[], title: string, program: string): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    title,
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `${program} <command> --help shows its options.`
  ].join('\n')
}

/**
 * A command line's whole run: help (exit 0, or 2 for an unknown command), the command, its usage on a UsageError
 * (exit 2) or its message on a failure (exit 1). The database is opened on first use and closed at the end.
 */
export async function runCommandLine (
  commands: readonly Command[],
  argv: string[],
  { title, program, openDatabase }: { title: string, program: string, openDatabase: () => Kysely<Database> }
): Promise<void> {
  const found = findCommand(commands, argv)
  const wantsHelp = argv.includes('--help') || argv.includes('-h')
  if (found === undefined || wantsHelp) {
    console.log(found === undefined ? help(commands, title, program) : `usage: ${found.command.usage}\n\n${found.command.summary}`)
    process.exitCode = found === undefined && argv.length > 0 && !wantsHelp ? 2 : 0
    return
  }
  let db: Kysely<Database> | undefined
  try {
    await found.command.run(found.rest, { db: () => (db ??= openDatabase()), print: (line) => console.log(line), now: Date.now })
  } catch (error) {
    console.error(error instanceof UsageError ? `${error.message}\nusage: ${found.command.usage}` : error instanceof Error ? error.message : String(error))
    process.exitCode = error instanceof UsageError ? 2 : 1
  } finally {
    await db?.destroy()
  }
}
