import { randomUUID } from 'node:crypto'
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { encodeEnvelope, encodeReadingTuple, envelopeOverheadBytes, type Reading } from '@labclimate/contract'

/**
 * The readings could not all be put on the queue; they may not be reported as accepted. `partial`: some
 * messages holding them were acknowledged by SQS (those readings will be stored), others were not.
 */
export class EnqueueError extends Error {
  override name = 'EnqueueError'
  readonly partial: boolean
  constructor (message: string, options: { cause?: unknown, partial?: boolean } = {}) {
    super(message, { cause: options.cause })
    this.partial = options.partial ?? false
  }
}

export interface ProducerOptions {
  client: SQSClient
  queueUrl: string
  /** How long to wait for other requests' readings before sending (coalescing window). */
  lingerMs?: number
  /** Upper bound of one message body; SQS allows 256 KiB (262,144 bytes). */
  maxMessageBytes?: number
  /** Upper bound of one SendMessageBatch payload (sum of its bodies). */
  maxBatchBytes?: number
  /** Extra attempts for entries SQS reports as failed inside a successful batch call. */
  entryRetries?: number
  now?: () => number
  /** Called once per flush (one coalesced batch), e.g. to log its counts and duration. */
  onFlush?: (flush: FlushReport) => void
}

export interface FlushReport {
  requests: number
  readings: number
  messages: number
  sendCalls: number
  failedReadings: number
  durationMs: number
}

export interface ProducerStats {
  readingsSent: number
  messagesSent: number
  sendBatchCalls: number
  failedReadings: number
}

interface Pending {
  readings: readonly Reading[]
  resolve: () => void
  reject: (error: Error) => void
}

interface Outgoing {
  body: string
  /** indexes into the flushed `Pending[]` whose readings this message carries */
  owners: Set<number>
}

const SQS_MAX_BATCH_ENTRIES = 10
const UUID_LENGTH = 36

/**
 * Puts readings on SQS many to a message and many messages to a call.
 * Callers `enqueue()` and await: the promise resolves only once SQS has
 * acknowledged every message holding the caller's readings, and rejects with
 * EnqueueError if any of them could not be sent.
 */
export class ReadingsProducer {
  readonly stats: ProducerStats = { readingsSent: 0, messagesSent: 0, sendBatchCalls: 0, failedReadings: 0 }
  readonly #client: SQSClient
  readonly #queueUrl: string
  readonly #lingerMs: number
  readonly #maxMessageBytes: number
  readonly #maxBatchBytes: number
  readonly #entryRetries: number
  readonly #now: () => number
  readonly #onFlush: ((flush: FlushReport) => void) | undefined
  #pending: Pending[] = []
  #pendingBytes = 0
  #timer: NodeJS.Timeout | undefined
  readonly #inFlight = new Set<Promise<void>>()
  #closed = false

  constructor (options: ProducerOptions) {
    this.#client = options.client
    this.#queueUrl = options.queueUrl
    this.#lingerMs = options.lingerMs ?? 5
    this.#maxMessageBytes = options.maxMessageBytes ?? 256_000
    this.#maxBatchBytes = options.maxBatchBytes ?? 262_144
    this.#entryRetries = options.entryRetries ?? 2
    this.#now = options.now ?? Date.now
    this.#onFlush = options.onFlush
    if (this.#maxMessageBytes > this.#maxBatchBytes) throw new RangeError('maxMessageBytes cannot exceed maxBatchBytes')
  }

  async enqueue (readings: readonly Reading[]): Promise<void> {
    if (this.#closed) throw new EnqueueError('the producer is closed')
    if (readings.length === 0) return
    const done = new Promise<void>((resolve, reject) => { this.#pending.push({ readings, resolve, reject }) })
    // ~36 bytes a reading: enough to decide when a full batch call's worth is waiting.
    this.#pendingBytes += readings.length * 36
    if (this.#pendingBytes >= this.#maxBatchBytes) this.#flushNow()
    else this.#timer ??= setTimeout(() => this.#flushNow(), this.#lingerMs)
    return await done
  }

  /** Sends whatever is buffered and waits for every send under way. */
  async flush (): Promise<void> {
    this.#flushNow()
    await Promise.allSettled([...this.#inFlight])
  }

  /** Refuses new readings, then flushes. The SQS client belongs to the caller. */
  async close (): Promise<void> {
    this.#closed = true
    await this.flush()
  }

  #flushNow (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending.length === 0) return
    const batch = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    const sending = this.#send(batch).finally(() => this.#inFlight.delete(sending))
    this.#inFlight.add(sending)
  }

  /** Packs the readings of `batch` into messages of at most maxMessageBytes. */
  #pack (batch: readonly Pending[]): Outgoing[] {
    const sentAtMs = this.#now()
    const budget = this.#maxMessageBytes - envelopeOverheadBytes(UUID_LENGTH, sentAtMs)
    const messages: Outgoing[] = []
    let parts: string[] = []
    let bytes = 0
    let owners = new Set<number>()
    const finish = (): void => {
      if (parts.length === 0) return
      messages.push({ body: encodeEnvelope(randomUUID(), sentAtMs, parts.join(',')), owners })
      parts = []; bytes = 0; owners = new Set()
    }
    batch.forEach((pending, owner) => {
      for (const reading of pending.readings) {
        const tuple = encodeReadingTuple(reading)
        if (bytes + tuple.length + 1 > budget) finish()
        parts.push(tuple)
        bytes += tuple.length + 1
        owners.add(owner)
      }
    })
    finish()
    return messages
  }

  /** Groups messages into SendMessageBatch calls of at most 10 entries and maxBatchBytes. */
  #group (messages: readonly Outgoing[]): Outgoing[][] {
    const calls: Outgoing[][] = []
    let call: Outgoing[] = []
    let bytes = 0
    for (const message of messages) {
      if (call.length === SQS_MAX_BATCH_ENTRIES || bytes + message.body.length > this.#maxBatchBytes) {
        calls.push(call); call = []; bytes = 0
      }
      call.push(message)
      bytes += message.body.length
    }
    if (call.length > 0) calls.push(call)
    return calls
  }

  /** Sends one call's messages; returns those that SQS did not take, after retrying them. */
  async #sendCall (messages: Outgoing[]): Promise<{ failed: Outgoing[], cause?: unknown }> {
    let remaining = messages
    let cause: unknown
    for (let attempt = 0; attempt <= this.#entryRetries && remaining.length > 0; attempt++) {
      const entries = remaining.map((m, i) => ({ Id: String(i), MessageBody: m.body }))
      try {
        this.stats.sendBatchCalls++
        const result = await this.#client.send(new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries }))
        const failedIds = new Set((result.Failed ?? []).map((f) => f.Id))
        for (const f of result.Failed ?? []) cause = new Error(`${f.Code ?? 'unknown'}: ${f.Message ?? ''}`)
        this.stats.messagesSent += remaining.filter((_, i) => !failedIds.has(String(i))).length
        remaining = remaining.filter((_, i) => failedIds.has(String(i)))
        // Entries refused for their content (sender's fault) will be refused again.
        if ((result.Failed ?? []).some((f) => f.SenderFault === true)) break
      } catch (error) {
        // The client already retried the call itself; a thrown error means SQS is out of reach.
        cause = error
        break
      }
    }
    return { failed: remaining, cause }
  }

  async #send (batch: Pending[]): Promise<void> {
    const started = this.#now()
    const messages = this.#pack(batch)
    const calls = this.#group(messages)
    const results = await Promise.all(calls.map(async (call) => await this.#sendCall(call)))
    const failedOwners = new Set<number>()
    let cause: unknown
    for (const result of results) {
      for (const m of result.failed) for (const owner of m.owners) failedOwners.add(owner)
      cause ??= result.cause
    }
    // Owners with at least one message that SQS did take: their failure is partial.
    const sentOwners = new Set<number>()
    const failedMessages = new Set(results.flatMap((r) => r.failed))
    for (const m of messages) if (!failedMessages.has(m)) for (const owner of m.owners) sentOwners.add(owner)
    batch.forEach((pending, owner) => {
      if (failedOwners.has(owner)) {
        this.stats.failedReadings += pending.readings.length
        pending.reject(new EnqueueError('readings could not be put on the queue', { cause, partial: sentOwners.has(owner) }))
      } else {
        this.stats.readingsSent += pending.readings.length
        pending.resolve()
      }
    })
    const failedReadings = batch.reduce((n, p, owner) => n + (failedOwners.has(owner) ? p.readings.length : 0), 0)
    this.#onFlush?.({
      requests: batch.length,
      readings: batch.reduce((n, p) => n + p.readings.length, 0),
      messages: messages.length,
      sendCalls: calls.length,
      failedReadings,
      durationMs: this.#now() - started
    })
  }
}
