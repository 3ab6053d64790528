// The store's whole surface: what the apps, the admin commands, tests, benchmarks and scripts use. Anything not
// listed here is internal; the migrations list is its own subpath (`@labclimate/store/migrations`).

// Connecting, and the schema's types
export type { Database } from './database.ts'
export { connectDatabase, mysqlPoolOptions, SESSION_SETUP, type ConnectOptions } from './connect.ts'
export { rdsCaBundle, type TokenSource } from './aurora.ts'
export { dialectOf, type Dialect } from './dialect.ts'
export { migrateToLatest, MigrationError } from './migrate.ts'
export { isAuthError, isConnectionError, StoreError } from './errors.ts'

// Repositories
export {
  createApiKey, findActiveKey, findActiveKeyByHash, hashKey, isWellFormedKey, KEY_ROLES, listActiveKeysWithHashes, listApiKeys,
  revokeApiKey, type ApiKey, type KeyRole
} from './repositories/api-keys.ts'
export { createLab, findExistingLabIds, findLab, LabExistsError, listLabIds, type Lab } from './repositories/labs.ts'
export { HOUR_MS, MINUTE_MS, storeReadings, type StoreResult } from './repositories/readings.ts'
export {
  CHANGE_MARGIN_MS, refreshRollingTotals, windowTotals, type RefreshStats, type RollingTotals, type TimeWindow, type WindowTotals
} from './repositories/averages.ts'
export { readingSeries, type Resolution, type SeriesPoint } from './repositories/series.ts'
export { countLabsReporting } from './repositories/fleet.ts'

// The data lifecycle (the retention policy itself is defined in @labclimate/config)
export { finestRetainedResolution } from './lifecycle/retention.ts'
export { archiveKeys, LocalArchiveStore, writeDayArchive, type ArchiveManifest, type ArchiveStore } from './lifecycle/archive.ts'
export { partitionName } from './lifecycle/partitions.ts'
export { runMaintenance, type MaintenanceOptions, type MaintenanceReport } from './lifecycle/maintenance.ts'
export type { LifecycleBackend, RawUnit } from './lifecycle/backend.ts'
export { withLifecycle } from './lifecycle/backends/index.ts'
export { withMysqlLifecycle } from './lifecycle/backends/mysql.ts'
