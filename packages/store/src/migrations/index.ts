import type { Migration } from 'kysely/migration'
import * as initialSchema from './2026_11_25_0001_initial_schema.ts'
import * as apiKeys from './2026_11_25_0002_api_keys.ts'
import * as partitionReadings from './2026_11_25_0003_partition_readings.ts'
import * as labRollupChanges from './2026_12_02_0001_lab_rollup_changes.ts'

/** Every migration in order of name. Listed statically so a bundled or deployed app needs no directory scan. */
export const migrations: Record<string, Migration> = {
  '2026_11_25_0001_initial_schema': initialSchema,
  '2026_11_25_0002_api_keys': apiKeys,
  '2026_11_25_0003_partition_readings': partitionReadings,
  '2026_12_02_0001_lab_rollup_changes': labRollupChanges
}
