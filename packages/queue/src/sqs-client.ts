import { SQSClient } from '@aws-sdk/client-sqs'

export interface SqsClientOptions {
  region: string
  /** A local SQS server (e.g. fauxqs); unset in AWS, where the regional endpoint is used. */
  endpoint?: string
  /** Only for a local endpoint: static credentials, since it checks no signature. */
  credentials?: { accessKeyId: string, secretAccessKey: string }
  /** Longest wait for one SQS answer; a consumer's must exceed its long-poll wait. */
  requestTimeoutMs?: number
}

export function createSqsClient ({ region, endpoint, credentials, requestTimeoutMs = 10_000 }: SqsClientOptions): SQSClient {
  return new SQSClient({
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(credentials === undefined ? {} : { credentials }),
    // Fail fast: an API request waits on this before it can answer 202 or 503.
    maxAttempts: 3,
    // No MD5 of every message body, sent and received (~256 KB each): HTTPS already protects the bytes in
    // transit, and a corrupt body fails decodeMessage and goes to the DLQ. It was 3% of the API's CPU per upload.
    md5: false,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true }
  })
}
