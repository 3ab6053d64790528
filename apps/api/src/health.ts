import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { HttpProblem, problemResponses } from './http/problem.ts'

const Health = Type.Object({ status: Type.Literal('ok') })

async function check (name: string, probe: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await probe()
    return undefined
  } catch {
    return name
  }
}

export default async function healthRoutes (fastify: FastifyInstance, { queueUrl }: { queueUrl: string }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  app.get('/health/live', { logLevel: 'warn', config: { auth: 'public' }, schema: { tags: ['meta'], summary: 'The process is up', response: { 200: Health } } }, async () => ({ status: 'ok' as const }))
  app.get('/health/ready', {
    logLevel: 'warn',
    config: { auth: 'public' },
    schema: { tags: ['meta'], summary: 'The database and the queue answer', response: { 200: Health, ...problemResponses } }
  }, async () => {
    const failing = (await Promise.all([
      check('database', async () => await sql`SELECT 1`.execute(app.db)),
      check('queue', async () => await app.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })))
    ])).filter((f) => f !== undefined)
    if (failing.length > 0) throw new HttpProblem(503, `not ready: ${failing.join(' and ')} unreachable`, { headers: { 'retry-after': '5' } })
    return { status: 'ok' as const }
  })
}
