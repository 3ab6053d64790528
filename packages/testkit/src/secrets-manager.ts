// A stand-in for AWS Secrets Manager on loopback, speaking its JSON 1.1 protocol for the calls the admin task
// makes (PutSecretValue) and GetSecretValue, so a test reads back what was stored the way an operator would.
// The SDK is pointed at it with AWS_ENDPOINT_URL_SECRETS_MANAGER; signatures are not checked.
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'

interface Teardown { teardown: (fn: () => Promise<void> | void) => void }

export interface SecretsManagerStandIn {
  endpoint: string
  /** Every call received: its X-Amz-Target operation and JSON body. */
  calls: Array<{ operation: string, body: Record<string, unknown> }>
  /** Current value of each secret, by the SecretId it was written with. */
  values: Map<string, string>
}

export async function startSecretsManager (t: Teardown): Promise<SecretsManagerStandIn> {
  const calls: SecretsManagerStandIn['calls'] = []
  const values = new Map<string, string>()
  const server = createServer((request, response) => {
    let text = ''
    request.on('data', (chunk: Buffer) => { text += chunk.toString() })
    request.on('end', () => {
      const operation = String(request.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '')
      const body = JSON.parse(text === '' ? '{}' : text) as Record<string, unknown>
      calls.push({ operation, body })
      const id = String(body.SecretId ?? '')
      const answer = (status: number, json: Record<string, unknown>): void => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(json))
      }
      if (operation === 'PutSecretValue' && typeof body.SecretString === 'string') {
        values.set(id, body.SecretString)
        answer(200, { ARN: id, Name: id.split(':').at(-1), VersionId: randomUUID(), VersionStages: ['AWSCURRENT'] })
      } else if (operation === 'GetSecretValue' && values.has(id)) {
        answer(200, { ARN: id, Name: id.split(':').at(-1), SecretString: values.get(id), VersionId: randomUUID(), VersionStages: ['AWSCURRENT'] })
      } else {
        answer(400, { __type: 'ResourceNotFoundException', message: `stand-in: ${operation} on ${id} is not supported` })
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  t.teardown(async () => { await new Promise<void>((resolve) => server.close(() => resolve())) })
  return { endpoint: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, calls, values }
}
