export { createSqsClient, type SqsClientOptions } from './sqs-client.ts'
export { ReadingsProducer, EnqueueError, type FlushReport, type ProducerOptions, type ProducerStats } from './producer.ts'
export { createReadingsConsumer, stopConsumer, type DecodedMessage, type BatchOutcome, type ReadingsConsumerOptions } from './consumer.ts'
