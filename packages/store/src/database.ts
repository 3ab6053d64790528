import type { Generated } from 'kysely'

/*
 * Time is stored as UTC epoch milliseconds (BIGINT): no column type, driver or
 * session time zone can shift it, and bucketing is integer arithmetic that
 * MySQL and SQLite compute alike. Climate values are integers in thousandths
 * (see @labclimate/contract limits), so sums in rollups are exact.
 */

export interface LabsTable {
  id: Generated<number>
  name: string
  address: string
  created_at_ms: number
}

/** One row per (lab, instant): a redelivered or re-uploaded reading is the same row. */
export interface ReadingsTable {
  lab_id: number
  recorded_at_ms: number
  temperature_milli_c: number
  humidity_milli_pct: number
}

/** Sum, count, min and max per lab and bucket; always a recomputation from the rows below it. */
export interface RollupTable {
  lab_id: number
  bucket_start_ms: number
  reading_count: number
  temperature_sum: number
  temperature_min: number
  temperature_max: number
  humidity_sum: number
  humidity_min: number
  humidity_max: number
}

/** When a lab's rollups last changed (writer's clock, stamped just before commit): what incremental readers re-read. */
export interface LabRollupChangesTable {
  lab_id: number
  changed_at_ms: number
}

/** An API key: only its SHA-256 is stored; `revoked_at_ms` set means it no longer opens anything. */
export interface ApiKeysTable {
  id: Generated<number>
  key_hash: string
  key_prefix: string
  role: 'admin' | 'read' | 'device'
  lab_id: number | null
  label: string
  created_at_ms: number
  revoked_at_ms: number | null
}

export interface Database {
  api_keys: ApiKeysTable
  labs: LabsTable
  readings: ReadingsTable
  reading_rollups_minute: RollupTable
  reading_rollups_hour: RollupTable
  lab_rollup_changes: LabRollupChangesTable
}

export type RollupTableName = 'reading_rollups_minute' | 'reading_rollups_hour'
