import type { SQSClient } from '@aws-sdk/client-sqs'
import { createReadingsConsumer, createSqsClient, stopConsumer } from '@labclimate/queue'
import { noMetrics, type Metrics } from '@labclimate/metrics'
import { connectDatabase, countLabsReporting, isAuthError, isConnectionError, migrateToLatest, type Database } from '@labclimate/store'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Consumer } from 'sqs-consumer'
import type { WorkerConfig } from './config.ts'
import { storeBatch } from './store-batch.ts'

export interface Worker {
  start: () => Promise<void>
  /** Stops polling, lets each consumer finish the batch in hand, then closes the database and SQS client. */
  stop: () => Promise<void>
  readonly db: Kysely<Database>
}

const MAX_BACKOFF_MS = 15_000
/** How often the worker reports how many labs sent readings in the past 24 h (the nightly-upload alarm reads it). */
const FLEET_REPORT_MS = 5 * 60_000

export function createWorker (config: WorkerConfig, log: Logger, options: { now?: () => number, metrics?: Metrics, fleetReportMs?: number } = {}): Worker {
  const now = options.now ?? Date.now
  const metrics = options.metrics ?? noMetrics
  const db = connectDatabase({ url: config.databaseUrl, poolSize: config.dbPoolSize, ...config.databaseSecurity })
  // A long poll holds the request open for waitTimeSeconds: leave it room before the client gives up.
  const client: SQSClient = createSqsClient({ ...config.sqs, requestTimeoutMs: (config.waitTimeSeconds + 10) * 1000 })
  let stopping = false
  let fleetTimer: NodeJS.Timeout | undefined
  const sleeps = new Set<() => void>()
  const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => {
    const wake = (): void => { clearTimeout(timer); sleeps.delete(wake); resolve() }
    const timer = setTimeout(wake, ms)
    sleeps.add(wake)
  })

  const consumers: Consumer[] = Array.from({ length: config.consumers }, () => createReadingsConsumer({
    client,
    queueUrl: config.sqs.queueUrl,
    batchSize: config.batchSize,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    waitTimeSeconds: config.waitTimeSeconds,
    handleBatch: async (batch) => {
      // While the database is unreachable or refuses our login (a rotated password, a revoked grant), wait
      // here: heartbeats keep the messages hidden, so they are neither redelivered nor counted toward the DLQ.
      for (let attempt = 0; ; attempt++) {
        const started = now()
        try {
          const result = await storeBatch(db, batch, log)
          const committedAt = now()
          // From the API's send (the 202 follows it by milliseconds) to the commit that makes readings visible.
          const lags = result.committed.map((d) => Math.max(0, committedAt - d.message.sentAtMs))
          for (const lag of lags) metrics.observe('EndToEndLagMs', lag)
          metrics.count('ReadingsStored', result.inserted)
          metrics.observe('BatchDurationMs', committedAt - started)
          if (result.committed.length < batch.length) metrics.count('WorkerErrors', batch.length - result.committed.length)
          log.info({
            messages: batch.length,
            committed: result.committed.length,
            readings: result.readings,
            inserted: result.inserted,
            durationMs: committedAt - started,
            maxLagMs: Math.max(0, ...lags)
          }, 'batch stored')
          return { committed: result.committed }
        } catch (error) {
          if (!isConnectionError(error) || stopping) throw error
          const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt)
          // Counted per retry, so an outage shows on the WorkerErrors alarm and not only in the logs.
          metrics.count('WorkerErrors')
          const why = isAuthError(error) ? 'database refused the login; retrying the batch' : 'database unreachable; retrying the batch'
          log.warn({ err: error, attempt, retryInMs: delay }, why)
          await sleep(delay)
        }
      }
    },
    onPoison: (message, error) => {
      metrics.count('WorkerErrors')
      log.error({ messageId: message.MessageId, receiveCount: message.Attributes?.ApproximateReceiveCount, err: error }, 'poison message left for the DLQ')
    },
    onError: (error, context) => {
      metrics.count('WorkerErrors')
      log.error({ err: error, context }, 'consumer error')
    }
  }))

  return {
    db,
    async start () {
      if (config.migrateOnStart) {
        const applied = await migrateToLatest(db)
        if (applied.length > 0) log.info({ applied }, 'migrations applied')
      }
      for (const consumer of consumers) consumer.start()
      fleetTimer = setInterval(() => {
        countLabsReporting(db, now() - 24 * 3_600_000)
          .then((labs) => metrics.gauge('LabsReporting24h', labs))
          .catch((err: unknown) => log.warn({ err }, 'could not count reporting labs'))
      }, options.fleetReportMs ?? FLEET_REPORT_MS)
      fleetTimer.unref()
      log.info({ consumers: consumers.length, queueUrl: config.sqs.queueUrl }, 'worker started')
    },
    async stop () {
      stopping = true
      clearInterval(fleetTimer)
      for (const wake of sleeps) wake()
      await Promise.all(consumers.map(stopConsumer))
      await db.destroy()
      client.destroy()
      log.info('worker stopped')
    }
  }
}
