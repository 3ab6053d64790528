// What the figures send: a lab's day of readings (one every 30 s), its upload body, labs with device keys, and
// autocannon timed to the last response.
import { createApiKey, type Database } from '@labclimate/store'
import autocannon from 'autocannon'
import type { Kysely } from 'kysely'

/** Readings a lab-day: one every 30 s. */
export const PER_DAY = 2880

export interface Row { labId: number, ms: number, t: number, h: number }

export function labDay (labId: number, dayStartMs: number): Row[] {
  return Array.from({ length: PER_DAY }, (_, i) => ({
    labId, ms: dayStartMs + i * 30_000, t: 20_000 + ((i * 7 + labId) % 100) * 50, h: 40_000 + ((i * 11 + labId) % 200) * 100
  }))
}

/** A device's day as it uploads it to /labs/upload: ~96 bytes a reading, ~280 KB a day. */
export function dayBody (rows: readonly Row[]): Buffer {
  const items = rows.map((r) =>
    `{"lab_id":${r.labId},"timestamp":"${new Date(r.ms).toISOString()}","temperature":"${(r.t / 1000).toFixed(2)}°C","humidity":"${(r.h / 1000).toFixed(1)}%"}`)
  return Buffer.from('[' + items.join(',') + ']')
}

export async function createLabsAndKeys (db: Kysely<Database>, ids: readonly number[]): Promise<Map<number, string>> {
  const nowMs = Date.now()
  await db.insertInto('labs').values(ids.map((id) => ({ id, name: `Lab ${id}`, address: 'bench', created_at_ms: nowMs }))).execute()
  const keys = new Map<number, string>()
  for (const id of ids) keys.set(id, (await createApiKey(db, { role: 'device', labId: id, label: `bench ${id}`, nowMs })).key)
  return keys
}

export type Run = autocannon.Result & { seconds: number }

/**
 * An autocannon run; `seconds` runs from the start to the last response, measured here (autocannon's own
 * duration is whole seconds, and it reports the end of an `amount` run only at its next 1 s tick).
 */
export async function cannon (opts: autocannon.Options): Promise<Run> {
  const t = performance.now()
  let last = t
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(opts, (error, r) => { if (error !== null && error !== undefined) reject(error); else resolve(r) })
    instance.on('response', () => { last = performance.now() })
  })
  return { ...result, seconds: (last - t) / 1000 }
}
