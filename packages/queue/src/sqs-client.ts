import { SQSClient } from '@aws-sdk/client-sqs'

export interface SqsClientOptions {
  region: string
  /** A local SQS server (e.g. fauxqs); unset in AWS, where the regional endpoint is used. */
  endpoint?: string
  /** Only for a local endpoint: static credentials, since it checks no signature. */
  credentials?: { accessKeyId: string, secretAccessKey: string }
}

export function createSqsClient ({ region, endpoint, credentials }: SqsClientOptions): SQSClient {
  return new SQSClient({
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(credentials === undefined ? {} : { credentials }),
    // Fail fast: an API request waits on this before it can answer 202 or 503.
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 }
  })
}
