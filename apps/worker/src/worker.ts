import type { SQSClient } from '@aws-sdk/client-sqs'
import { createReadingsConsumer, createSqsClient, stopConsumer } from '@labclimate/queue'
import { connectDatabase, isConnectionError, migrateToLatest, type Database } from '@labclimate/store'
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

export function createWorker (config: WorkerConfig, log: Logger, options: { now?: () => number } = {}): Worker {
  const now = options.now ?? Date.now
  const db = connectDatabase({ url: config.databaseUrl, poolSize: config.dbPoolSize })
  const client: SQSClient = createSqsClient(config.sqs)
  let stopping = false
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
      // While the database is unreachable, wait here: heartbeats keep the messages
      // hidden, so they are neither redelivered nor counted toward the DLQ.
      for (let attempt = 0; ; attempt++) {
        const started = now()
        try {
          const result = await storeBatch(db, batch, log)
          const lagMs = Math.max(0, ...result.committed.map((d) => started - d.message.sentAtMs))
          log.info({ messages: batch.length, committed: result.committed.length, readings: result.readings, inserted: result.inserted, durationMs: now() - started, queueLagMs: lagMs }, 'batch stored')
          return { committed: result.committed }
        } catch (error) {
          if (!isConnectionError(error) || stopping) throw error
          const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt)
          log.warn({ err: error, attempt, retryInMs: delay }, 'database unreachable; retrying the batch')
          await sleep(delay)
        }
      }
    },
    onPoison: (message, error) => log.error({ messageId: message.MessageId, receiveCount: message.Attributes?.ApproximateReceiveCount, err: error }, 'poison message left for the DLQ'),
    onError: (error, context) => log.error({ err: error, context }, 'consumer error')
  }))

  return {
    db,
    async start () {
      if (config.migrateOnStart) {
        const applied = await migrateToLatest(db)
        if (applied.length > 0) log.info({ applied }, 'migrations applied')
      }
      for (const consumer of consumers) consumer.start()
      log.info({ consumers: consumers.length, queueUrl: config.sqs.queueUrl }, 'worker started')
    },
    async stop () {
      stopping = true
      for (const wake of sleeps) wake()
      await Promise.all(consumers.map(stopConsumer))
      await db.destroy()
      client.destroy()
      log.info('worker stopped')
    }
  }
}
