import type { Kysely } from 'kysely'
import type { Database } from '../database.ts'
import { isDuplicateKey, StoreError } from '../errors.ts'

export interface Lab {
  id: number
  name: string
  address: string
  createdAtMs: number
}

export class LabExistsError extends StoreError {
  override name = 'LabExistsError'
}

const toLab = (row: { id: number, name: string, address: string, created_at_ms: number }): Lab =>
  ({ id: row.id, name: row.name, address: row.address, createdAtMs: Number(row.created_at_ms) })

/** Creates a lab; `id` may be given to register a lab that existing devices already report as. */
export async function createLab (db: Kysely<Database>, lab: { id?: number, name: string, address: string, nowMs: number }): Promise<Lab> {
  const values = { name: lab.name, address: lab.address, created_at_ms: lab.nowMs, ...(lab.id === undefined ? {} : { id: lab.id }) }
  try {
    const result = await db.insertInto('labs').values(values).executeTakeFirstOrThrow()
    const id = lab.id ?? Number(result.insertId)
    return { id, name: lab.name, address: lab.address, createdAtMs: lab.nowMs }
  } catch (error) {
    if (isDuplicateKey(error)) throw new LabExistsError(`lab ${lab.id ?? ''} already exists`, { cause: error })
    throw error
  }
}

export async function findLab (db: Kysely<Database>, id: number): Promise<Lab | undefined> {
  const row = await db.selectFrom('labs').selectAll().where('id', '=', id).executeTakeFirst()
  return row === undefined ? undefined : toLab(row)
}

/** Which of `ids` name labs that exist. */
export async function findExistingLabIds (db: Kysely<Database>, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set()
  const rows = await db.selectFrom('labs').select('id').where('id', 'in', ids).execute()
  return new Set(rows.map((r) => r.id))
}

/** Every lab id (labs are never deleted): what an API process loads into its lab directory at start. */
export async function listLabIds (db: Kysely<Database>): Promise<number[]> {
  const rows = await db.selectFrom('labs').select('id').execute()
  return rows.map((r) => r.id)
}
