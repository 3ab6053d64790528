import type { Message, SQSClient } from '@aws-sdk/client-sqs'
import { decodeMessage, MessageDecodeError, type ReadingsMessage } from '@labclimate/contract'
import { Consumer } from 'sqs-consumer'

export interface DecodedMessage {
  sqs: Message
  message: ReadingsMessage
}

export interface BatchOutcome {
  /** messages whose readings are committed: these, and only these, are deleted from the queue */
  committed: DecodedMessage[]
}

export interface ConsumerHooks {
  /** Stores the readings of a batch; returns the messages it committed. Throwing acknowledges nothing. */
  handleBatch: (messages: DecodedMessage[]) => Promise<BatchOutcome>
  /** A message that is not a valid envelope: it is left on the queue, and SQS's redrive moves it to the DLQ. */
  onPoison?: (message: Message, error: MessageDecodeError) => void
  onError?: (error: Error, context: string) => void
}

export interface ReadingsConsumerOptions extends ConsumerHooks {
  client: SQSClient
  queueUrl: string
  /** Messages per receive (SQS allows 1 to 10). */
  batchSize?: number
  /** Seconds a received message stays hidden; extended by heartbeats while a batch is being stored. */
  visibilityTimeoutSeconds?: number
  /** How long stop() waits for the batch in hand to finish. */
  stopWaitMs?: number
  waitTimeSeconds?: number
}

const MAX_POLL_BACKOFF_MS = 10_000

/**
 * Wraps sqs-consumer: decodes each message (refusing unknown versions and
 * malformed bodies), hands the valid ones to `handleBatch`, and acknowledges
 * exactly the messages `handleBatch` reports committed.
 */
export function createReadingsConsumer (options: ReadingsConsumerOptions): Consumer {
  const visibility = options.visibilityTimeoutSeconds ?? 60
  const consumer = Consumer.create({
    queueUrl: options.queueUrl,
    sqs: options.client,
    // The client already points at the right endpoint (AWS or a local server).
    useQueueUrlAsEndpoint: false,
    batchSize: options.batchSize ?? 10,
    waitTimeSeconds: options.waitTimeSeconds ?? 20,
    visibilityTimeout: visibility,
    heartbeatInterval: Math.max(1, Math.floor(visibility / 3)),
    pollingCompleteWaitTimeMs: options.stopWaitMs ?? 25_000,
    messageSystemAttributeNames: ['ApproximateReceiveCount'],
    handleMessageBatch: async (messages) => {
      const decoded: DecodedMessage[] = []
      for (const sqs of messages) {
        try {
          decoded.push({ sqs, message: decodeMessage(sqs.Body ?? '') })
        } catch (error) {
          if (error instanceof MessageDecodeError) options.onPoison?.(sqs, error)
          else throw error
        }
      }
      if (decoded.length === 0) return []
      const { committed } = await options.handleBatch(decoded)
      return committed.map((d) => d.sqs)
    }
  })
  // sqs-consumer polls again at once after a failed receive; back off instead of
  // spinning (and logging) hundreds of times a second while SQS is out of reach.
  let backoffMs = 0
  const recovered = (): void => {
    if (backoffMs === 0) return
    backoffMs = 0
    consumer.updateOption('pollingWaitTimeMs', 0)
  }
  consumer.on('empty', recovered)
  consumer.on('message_received', recovered)
  consumer.on('error', (error, message) => {
    if (message === undefined) {
      backoffMs = Math.min(MAX_POLL_BACKOFF_MS, Math.max(250, backoffMs * 2))
      consumer.updateOption('pollingWaitTimeMs', backoffMs)
    }
    options.onError?.(error, 'sqs')
  })
  consumer.on('processing_error', (error) => options.onError?.(error, 'processing'))
  return consumer
}

/** Resolves once the consumer has stopped, after its batch in hand is done (or stopWaitMs passed). */
export async function stopConsumer (consumer: Consumer): Promise<void> {
  if (!consumer.status.isRunning) return
  const stopped = new Promise<void>((resolve) => consumer.once('stopped', () => resolve()))
  consumer.stop({ abort: false })
  await stopped
}
