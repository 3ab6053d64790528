// Data-lifecycle job, run once per invocation (an ECS scheduled task runs it hourly): creates raw and
// minute-rollup partitions ahead, archives then drops raw days past retention, expires rollups.
// Its own entry point rather than a timer inside the consumer worker: one run per schedule however many
// workers are scaled out, its own IAM grant (the archive bucket) that the consumers do not get, long
// DDL and archive uploads that never compete with SQS batches for a worker's time or its stop timeout,
// and a failed run shows up as a failed task. Two runs at once are still safe: a MySQL GET_LOCK.
import { loadOrExit } from '@labclimate/config'
import { connectDatabase, LocalArchiveStore, runMaintenance, withLifecycle, type ArchiveStore } from '@labclimate/store'
import { pino } from 'pino'
import { loadMaintenanceConfig } from './maintenance-config.ts'
import { createS3Client, S3ArchiveStore } from './maintenance-s3.ts'

const config = loadOrExit(loadMaintenanceConfig, process.env)

const log = pino({ level: config.logLevel, base: { service: 'maintenance' } })
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
    log.info('another run holds the maintenance lock; this one did nothing')
  } else {
    log.info({ report }, 'maintenance done')
    if (report.rawRefused.length > 0) {
      log.error({ refused: report.rawRefused }, 'raw days past retention were kept: no archive is configured (set ARCHIVE_BUCKET or ARCHIVE_DIR, or ARCHIVE_REQUIRED=false)')
      process.exitCode = 1
    }
  }
} catch (err) {
  log.error({ err }, 'maintenance failed; nothing unarchived was dropped, the next run continues')
  process.exitCode = 1
} finally {
  await db.destroy()
  destroyS3()
}
