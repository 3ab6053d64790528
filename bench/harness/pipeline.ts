// The ingest pipeline that figures 1, 2, 3, 5 and 6 share, in that order: one database, one API process, the bare
// baseline server, labs with device keys and a read key, and the day bodies each round of figures 1 and 3 uploads.
import { DAY_MS } from '@labclimate/config'
import { createApiKey, type Database } from '@labclimate/store'
import type { Kysely } from 'kysely'
import type { BenchContext, Server } from './context.ts'
import { createLabsAndKeys, dayBody, labDay, type Row } from './data.ts'

export interface Pipeline {
  url: string
  db: Kysely<Database>
  api: Server
  bare: Server
  labIds: number[]
  /** Device keys by lab. */
  keys: Map<number, string>
  readKey: string
  /** Per round, the lab-days uploaded (days of labs of that round's own, so every round's readings are new). */
  bodiesByRound: Array<Array<{ labId: number, rows: Row[] }>>
  /** The same lab-days as upload bodies. */
  payloadsByRound: Buffer[][]
  /** Mean upload body size. */
  avgBytes: number
  close: () => Promise<void>
}

export async function openPipeline (ctx: BenchContext): Promise<Pipeline> {
  const { sizes, rounds } = ctx
  const main = await ctx.scratchDatabase()
  const todayStart = Math.floor(Date.now() / DAY_MS) * DAY_MS
  // Each round uploads days of labs of its own (six past days a lab), so every round's readings are new to the store.
  const labsPerRound = Math.ceil(sizes.dayBatches / 6)
  const pairsByRound = Array.from({ length: rounds }, (_, r) =>
    Array.from({ length: sizes.dayBatches }, (_, i) => ({ labId: 1 + r * labsPerRound + Math.floor(i / 6), day: 1 + (i % 6) })))
  const labIds = [...new Set(pairsByRound.flat().map((p) => p.labId))]
  const keys = await createLabsAndKeys(main.db, labIds)
  const readKey = (await createApiKey(main.db, { role: 'read', label: 'bench read', nowMs: Date.now() })).key
  ctx.log(`building ${rounds} × ${sizes.dayBatches} day bodies`)
  const bodiesByRound = pairsByRound.map((pairs) => pairs.map((p) => ({ labId: p.labId, rows: labDay(p.labId, todayStart - p.day * DAY_MS) })))
  const payloadsByRound = bodiesByRound.map((bodies) => bodies.map((b) => dayBody(b.rows)))
  const avgBytes = Math.round((payloadsByRound[0] as Buffer[]).reduce((a, b) => a + b.length, 0) / sizes.dayBatches)

  const bare = await ctx.startBare()
  const api = await ctx.startApi(main.url)
  return {
    url: main.url,
    db: main.db,
    api,
    bare,
    labIds,
    keys,
    readKey,
    bodiesByRound,
    payloadsByRound,
    avgBytes,
    close: async () => {
      await ctx.stopProc(api.proc)
      await ctx.stopProc(bare.proc)
      await main.db.destroy()
    }
  }
}
