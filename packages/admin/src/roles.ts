// One database user per role, each with only what its code runs. Grants are added, never revoked here:
// a REVOKE while old tasks still run would fail their queries mid-deploy (ER_TABLEACCESS_DENIED is not a
// connection error, so a worker's batch would count as poison). Narrowing a grant is a manual step.
export type RoleName = 'api' | 'worker' | 'maintenance' | 'migrate'
export const ROLE_NAMES: readonly RoleName[] = ['api', 'worker', 'maintenance', 'migrate']

/** A privilege list on one table, or on the whole database when `table` is undefined. */
export interface Grant { privileges: string, table?: string }

const ROLLUP_TABLES = ['reading_rollups_minute', 'reading_rollups_hour'] as const

export const ROLE_GRANTS: Record<RoleName, readonly Grant[]> = {
  // Every query the API serves; creates and revokes keys, registers labs. Never touches readings.
  api: [
    { privileges: 'SELECT' },
    { privileges: 'INSERT, UPDATE', table: 'api_keys' },
    { privileges: 'INSERT', table: 'labs' }
  ],
  // Upserts readings and recomputes rollups (INSERT … ON DUPLICATE KEY UPDATE needs both); reads to recompute.
  worker: [
    { privileges: 'SELECT' },
    { privileges: 'INSERT, UPDATE', table: 'readings' },
    ...ROLLUP_TABLES.map((table) => ({ privileges: 'INSERT, UPDATE', table })),
    { privileges: 'INSERT, UPDATE', table: 'lab_rollup_changes' }
  ],
  // Partitions ahead (ALTER … REORGANIZE), old days dropped (ALTER … DROP PARTITION needs DROP), hour rollups
  // expired by DELETE; reads what it archives.
  maintenance: [
    { privileges: 'SELECT' },
    { privileges: 'ALTER, DROP', table: 'readings' },
    { privileges: 'ALTER, DROP, DELETE', table: 'reading_rollups_minute' },
    { privileges: 'DELETE', table: 'reading_rollups_hour' }
  ],
  // Schema changes and the migration bookkeeping rows; no grant option, no users.
  migrate: [
    { privileges: 'SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, LOCK TABLES' }
  ]
}

/** Users are `<prefix><role>` ("labclimate_api" …): a prefix of letters, digits and _ (MySQL's 32-character limit). */
export function roleUserName (prefix: string, role: RoleName): string {
  const name = `${prefix}${role}`
  if (!/^[A-Za-z0-9_]+$/.test(prefix) || name.length > 32) {
    throw new RangeError(`role user prefix ${JSON.stringify(prefix)} must be letters, digits and _, ` +
      'and leave names of at most 32 characters')
  }
  return name
}
