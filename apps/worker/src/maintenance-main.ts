// Data-lifecycle job, run once per invocation (an ECS scheduled task runs it hourly): creates raw and
// minute-rollup partitions ahead, archives then drops raw days past retention, expires rollups.
// Its own entry point rather than a timer inside the consumer worker: one run per schedule however many
// workers are scaled out, its own IAM grant (the archive bucket) that the consumers do not get, long
// DDL and archive uploads that never compete with SQS batches for a worker's time or its stop timeout,
// and a failed run shows up as a failed task. Two runs at once are still safe: a MySQL GET_LOCK.
// Each run also judges last night's upload (completeness.ts) and reports MaintenanceSucceeded or
// MaintenanceFailed, which the maintenance alarms watch.
import { loadOrExit } from '@labclimate/config'
import { createEmfMetrics, noMetrics } from '@labclimate/metrics'
import { connectDatabase, LocalArchiveStore, runMaintenance, withLifecycle, type ArchiveStore } from '@labclimate/store'
import { pino } from 'pino'
import { reportCompleteness } from './completeness.ts'
import { loadMaintenanceConfig } from './maintenance-config.ts'
import { createS3Client, S3ArchiveStore } from './maintenance-s3.ts'

const config = loadOrExit(loadMaintenanceConfig, process.env)

const log = pino({ level: config.logLevel, base: { service: 'maintenance' } })
const metrics = config.metricsEmf
  ? createEmfMetrics({ service: 'maintenance', stage: config.stage, write: (line) => process.stdout.write(`${line}\n`) })
  : noMetrics
let archive: ArchiveStore | undefined
let destroyS3 = (): void => {}
if (config.archive?.kind === 's3') {
  const client = createS3Client(config.archive)
  destroyS3 = () => { client.destroy() }
  archive = new S3ArchiveStore({ client, bucket: config.archive.bucket, prefix: config.archive.prefix })
} else if (config.archive?.kind === 'dir') {
  archive = new LocalArchiveStore(config.archive.dir)
}

const db = connectDatabase({ url: config.databaseUrl, poolSize: 1, ...config.databaseSecurity })
let failed = false
let locked = false
try {
  const report = await withLifecycle(db, async (backend) => await runMaintenance(backend, {
    retention: config.retention,
    aheadDays: config.aheadDays,
    archiveRequired: config.archiveRequired,
    nowMs: Date.now(),
    log: (event, data) => { log.info(data, event) },
    ...(archive === undefined ? {} : { archive })
  }))
  if (report.status === 'locked') {
    locked = true
    log.info('another run holds the maintenance lock; this one did nothing')
  } else {
    log.info({ report }, 'maintenance done')
    if (report.rawRefused.length > 0) {
      log.error({ refused: report.rawRefused }, 'raw days past retention were kept: no archive is configured ' +
        '(set ARCHIVE_BUCKET or ARCHIVE_DIR, or ARCHIVE_REQUIRED=false)')
      failed = true
    }
  }
} catch (err) {
  log.error({ err }, 'maintenance failed; nothing unarchived was dropped, the next run continues')
  failed = true
}
try {
  // Read-only, so it runs even when another run holds the lifecycle lock.
  await reportCompleteness(db, config.completeness, Date.now(), metrics, log)
} catch (err) {
  log.error({ err }, 'could not judge the last upload\'s completeness')
  failed = true
} finally {
  await db.destroy()
  destroyS3()
}
// A run locked out by another is neither: the other run reports. Never succeeding shows as MaintenanceNotRunning.
if (failed) metrics.count('MaintenanceFailed')
else if (!locked) metrics.count('MaintenanceSucceeded')
metrics.close()
if (failed) process.exitCode = 1
