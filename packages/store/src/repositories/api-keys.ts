import { createHash, randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { ApiKeysTable, Database } from '../database.ts'

export type KeyRole = ApiKeysTable['role']
export const KEY_ROLES: readonly KeyRole[] = ['admin', 'read', 'device']

export interface ApiKey {
  id: number
  prefix: string
  role: KeyRole
  /** the only lab a device key may write */
  labId: number | null
  label: string
  createdAtMs: number
  revokedAtMs: number | null
}

/** "lc_" + 32 random bytes, base64url: 256 bits, so a fast hash is as safe as a slow one. */
export function generateKey (): string {
  return `lc_${randomBytes(32).toString('base64url')}`
}

/** What every key generateKey makes looks like: a token of another shape is refused without a lookup. */
export const API_KEY_PATTERN = /^lc_[A-Za-z0-9_-]{43}$/

export const isWellFormedKey = (token: string): boolean => API_KEY_PATTERN.test(token)

export function hashKey (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** The columns of an `api_keys` row that make an ApiKey. */
interface ApiKeyRow {
  id: number
  key_prefix: string
  role: string
  lab_id: number | null
  label: string
  created_at_ms: number
  revoked_at_ms: number | null
}

const toApiKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  prefix: r.key_prefix,
  role: r.role as KeyRole,
  labId: r.lab_id,
  label: r.label,
  createdAtMs: Number(r.created_at_ms),
  revokedAtMs: r.revoked_at_ms === null ? null : Number(r.revoked_at_ms)
})

/** Creates a key and returns it in clear text: the only time it is ever seen. */
export async function createApiKey (
  db: Kysely<Database>,
  spec: { role: KeyRole, labId?: number | null, label: string, nowMs: number }
): Promise<{ key: string, apiKey: ApiKey }> {
  if ((spec.role === 'device') !== (spec.labId !== undefined && spec.labId !== null)) {
    throw new RangeError('a device key names exactly one lab; other keys name none')
  }
  const key = generateKey()
  const prefix = key.slice(0, 10)
  const result = await db.insertInto('api_keys').values({
    key_hash: hashKey(key),
    key_prefix: prefix,
    role: spec.role,
    lab_id: spec.labId ?? null,
    label: spec.label,
    created_at_ms: spec.nowMs
  }).executeTakeFirstOrThrow()
  const apiKey: ApiKey = {
    id: Number(result.insertId),
    prefix,
    role: spec.role,
    labId: spec.labId ?? null,
    label: spec.label,
    createdAtMs: spec.nowMs,
    revokedAtMs: null
  }
  return { key, apiKey }
}

/** The live (not revoked) key with this clear-text value, if any. */
export async function findActiveKey (db: Kysely<Database>, key: string): Promise<ApiKey | undefined> {
  return await findActiveKeyByHash(db, hashKey(key))
}

/** The live key whose SHA-256 (hex, as hashKey gives it) is `keyHash`, if any. */
export async function findActiveKeyByHash (db: Kysely<Database>, keyHash: string): Promise<ApiKey | undefined> {
  const row = await db.selectFrom('api_keys').selectAll()
    .where('key_hash', '=', keyHash)
    .where('revoked_at_ms', 'is', null)
    .executeTakeFirst()
  return row === undefined ? undefined : toApiKey(row)
}

/** Up to `limit` live keys with their hashes, newest first: what an API process loads into its key cache at start. */
export async function listActiveKeysWithHashes (db: Kysely<Database>, limit: number): Promise<Array<{ keyHash: string, apiKey: ApiKey }>> {
  const rows = await db.selectFrom('api_keys').selectAll().where('revoked_at_ms', 'is', null).orderBy('id', 'desc').limit(limit).execute()
  return rows.map((r) => ({ keyHash: r.key_hash, apiKey: toApiKey(r) }))
}

export async function listApiKeys (db: Kysely<Database>): Promise<ApiKey[]> {
  const rows = await db.selectFrom('api_keys').selectAll().orderBy('id').execute()
  return rows.map(toApiKey)
}

/** Revokes a key; false if there is no such key or it was already revoked. */
export async function revokeApiKey (db: Kysely<Database>, id: number, nowMs: number): Promise<boolean> {
  const result = await db.updateTable('api_keys').set({ revoked_at_ms: nowMs })
    .where('id', '=', id).where('revoked_at_ms', 'is', null).executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}
