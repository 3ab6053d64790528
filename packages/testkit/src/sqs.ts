// A real SQS server (fauxqs) in the test process, spoken to over HTTP by the AWS SDK.
import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { createSqsClient } from '@labclimate/queue'
import { startFauxqs, type FauxqsServer } from 'fauxqs'

interface Teardown { teardown: (fn: () => Promise<void> | void) => void }

export interface TestQueue {
  server: FauxqsServer
  endpoint: string
  region: string
  client: SQSClient
  queueUrl: string
  dlqUrl: string
  queueName: string
  dlqName: string
}

export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' }

export async function startTestQueue (t: Teardown, { maxReceiveCount = 3, visibilityTimeoutSeconds = 30 } = {}): Promise<TestQueue> {
  const server = await startFauxqs({ port: 0, logger: false })
  const region = 'us-east-1'
  const endpoint = `http://127.0.0.1:${server.port}`
  const dlqName = 'readings-dlq'
  const queueName = 'readings'
  const dlq = server.createQueue(dlqName)
  server.createQueue(queueName, {
    attributes: {
      VisibilityTimeout: String(visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount })
    }
  })
  const client = createSqsClient({ region, endpoint, credentials: TEST_CREDENTIALS })
  const url = async (QueueName: string): Promise<string> => (await client.send(new GetQueueUrlCommand({ QueueName }))).QueueUrl as string
  const queue = { server, endpoint, region, client, queueUrl: await url(queueName), dlqUrl: await url(dlqName), queueName, dlqName }
  t.teardown(async () => {
    client.destroy()
    await server.stop()
  })
  return queue
}

/** Messages waiting or in flight, read without consuming them. */
export function queueDepth (queue: TestQueue, name = queue.queueName): number {
  const q = queue.server.inspectQueue(name)
  if (q === undefined) return 0
  return q.messages.ready.length + q.messages.delayed.length + q.messages.inflight.length
}
