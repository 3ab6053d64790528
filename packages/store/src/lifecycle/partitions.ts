import { sql, type Kysely } from 'kysely'
import type { Database } from '../database.ts'
import { DAY_MS } from '@labclimate/config'
import { dayStart } from './retention.ts'

// Daily RANGE partitions on a BIGINT epoch-ms column (MySQL 8 and MariaDB), days then a catch-all `pmax`:
// docs/data-lifecycle.md, "Partitions", says why the layout is so.

export const MAXVALUE_PARTITION = 'pmax'

export interface PartitionInfo {
  name: string
  /** exclusive upper bound in ms; undefined for MAXVALUE */
  lessThanMs: number | undefined
  /** the previous partition's bound; undefined for the first partition */
  fromMs: number | undefined
}

/** Partition name for the day starting at `dayStartMs`: p20261125. */
export const partitionName = (dayStartMs: number): string => `p${new Date(dayStartMs).toISOString().slice(0, 10).replaceAll('-', '')}`

const ident = (name: string): string => {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`not a plain identifier: ${name}`)
  return name
}

/** The table's partitions in order; [] if it is not partitioned. */
export async function listPartitions (db: Kysely<Database> | Kysely<any>, table: string): Promise<PartitionInfo[]> {
  const { rows } = await sql<{ name: string | null, description: string | null }>`
    SELECT PARTITION_NAME AS name, PARTITION_DESCRIPTION AS description
    FROM information_schema.PARTITIONS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table}
    ORDER BY PARTITION_ORDINAL_POSITION`.execute(db)
  const out: PartitionInfo[] = []
  let previous: number | undefined
  for (const row of rows) {
    if (row.name === null) return []
    const description = String(row.description ?? '').trim()
    const lessThanMs = /^maxvalue$/i.test(description) ? undefined : Number(description)
    if (lessThanMs !== undefined && !Number.isSafeInteger(lessThanMs)) throw new Error(`unexpected partition bound ${description} on ${table}.${row.name}`)
    out.push({ name: row.name, lessThanMs, fromMs: previous })
    previous = lessThanMs
  }
  return out
}

/** `PARTITION p… VALUES LESS THAN (…)` clauses for every day starting in [fromDayMs, untilMs). */
export function dailyPartitionClauses (fromDayMs: number, untilMs: number): string[] {
  const clauses: string[] = []
  for (let day = dayStart(fromDayMs); day < untilMs; day += DAY_MS) {
    clauses.push(`PARTITION ${partitionName(day)} VALUES LESS THAN (${day + DAY_MS})`)
  }
  return clauses
}

/**
 * Makes sure daily partitions exist for every instant before `untilMs` (rounded up
 * to a whole day) by splitting pmax. Returns the partitions created. Idempotent:
 * the current layout is read from information_schema each time.
 */
export async function createPartitionsAhead (db: Kysely<any>, table: string, untilMs: number): Promise<string[]> {
  const partitions = await listPartitions(db, table)
  if (partitions.length === 0) throw new Error(`${table} is not partitioned`)
  const last = partitions[partitions.length - 1] as PartitionInfo
  if (last.lessThanMs !== undefined || last.name !== MAXVALUE_PARTITION) throw new Error(`${table} has no ${MAXVALUE_PARTITION} partition`)
  const lastBound = partitions.length > 1 ? (partitions[partitions.length - 2] as PartitionInfo).lessThanMs as number : undefined
  const from = lastBound ?? dayStart(untilMs)
  const clauses = dailyPartitionClauses(from, untilMs)
  if (clauses.length === 0) return []
  await sql.raw(`ALTER TABLE ${ident(table)} REORGANIZE PARTITION ${MAXVALUE_PARTITION} ` +
    `INTO (${clauses.join(', ')}, PARTITION ${MAXVALUE_PARTITION} VALUES LESS THAN MAXVALUE)`).execute(db)
  return clauses.map((c) => c.split(' ')[1] as string)
}

/** Drops one partition: its rows go at once, whatever their number (no mass DELETE, no undo log). */
export async function dropPartition (db: Kysely<any>, table: string, name: string): Promise<void> {
  await sql.raw(`ALTER TABLE ${ident(table)} DROP PARTITION ${ident(name)}`).execute(db)
}

/** Partitions whose every row is older than `cutoffMs` (never pmax, never the only bounded one left). */
export function partitionsBefore (partitions: readonly PartitionInfo[], cutoffMs: number): PartitionInfo[] {
  const bounded = partitions.filter((p) => p.lessThanMs !== undefined)
  // Keep at least one bounded partition: pmax must never become the only one, or
  // "create ahead" would have no bound to continue from.
  return bounded.filter((p) => (p.lessThanMs as number) <= cutoffMs).slice(0, Math.max(0, bounded.length - 1))
}
