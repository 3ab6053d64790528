import type { DecodedMessage } from '@labclimate/queue'
import { isConnectionError, storeReadings, type Database } from '@labclimate/store'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'

export interface BatchResult {
  committed: DecodedMessage[]
  readings: number
  inserted: number
}

/**
 * Stores a batch in one transaction. If the transaction fails for a reason
 * other than the database being unreachable, one message must be at fault:
 * store message by message, so the rest of the batch is committed and only
 * the culprit is left for SQS to redeliver (and in the end move to the DLQ).
 */
export async function storeBatch (db: Kysely<Database>, batch: DecodedMessage[], log: Logger): Promise<BatchResult> {
  const all = batch.flatMap((d) => d.message.readings)
  try {
    const { inserted } = await storeReadings(db, all)
    return { committed: batch, readings: all.length, inserted }
  } catch (error) {
    if (isConnectionError(error) || batch.length === 1) throw error
    log.warn({ err: error, messages: batch.length }, 'batch failed; storing its messages one by one')
  }
  const result: BatchResult = { committed: [], readings: 0, inserted: 0 }
  for (const d of batch) {
    try {
      const { inserted } = await storeReadings(db, d.message.readings)
      result.committed.push(d)
      result.readings += d.message.readings.length
      result.inserted += inserted
    } catch (error) {
      // Unreachable, or the login refused, part-way through: the caller waits and retries the whole batch (storing
      // is idempotent). Returning the part done would send the rest back to SQS, a receive closer to the DLQ.
      if (isConnectionError(error)) throw error
      log.error({ err: error, messageId: d.sqs.MessageId, envelopeId: d.message.id }, 'message could not be stored; leaving it for redelivery')
    }
  }
  return result
}
