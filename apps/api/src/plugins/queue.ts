import type { SqsSettings } from '@labclimate/config'
import { createSqsClient, ReadingsProducer } from '@labclimate/queue'
import type { SQSClient } from '@aws-sdk/client-sqs'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    sqs: SQSClient
    readingsProducer: ReadingsProducer
  }
}

export interface QueuePluginOptions {
  sqs: SqsSettings
  lingerMs: number
}

export default fp<QueuePluginOptions>(async (app, { sqs, lingerMs }) => {
  const client = createSqsClient(sqs)
  // One log line per coalesced batch, as the worker logs one per stored batch.
  const producer = new ReadingsProducer({
    client,
    queueUrl: sqs.queueUrl,
    lingerMs,
    onFlush: (flush) => {
      if (flush.failedReadings > 0) app.log.warn(flush, 'batch not queued')
      else app.log.info(flush, 'batch queued')
    }
  })
  app.decorate('sqs', client)
  app.decorate('readingsProducer', producer)
  // onClose runs after in-flight requests have finished: flush what they buffered, then let go of the client.
  app.addHook('onClose', async () => {
    await producer.close()
    client.destroy()
  })
}, { name: 'queue' })
