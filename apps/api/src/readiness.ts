// One probe of what the API depends on, shared by GET /health/ready and the readiness metrics the alarms watch.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'

/** Which dependencies answered: the database (the writer, and the reader where reads have their own URL) and the queue. */
export interface Readiness { database: boolean, queue: boolean }

/** A probe that has not answered by then counts as failed, so a hung connection cannot hang a health check. */
export const READINESS_TIMEOUT_MS = 5_000

async function answers (probe: () => Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => { resolve(false) }, timeoutMs) })
  try {
    return await Promise.race([probe().then(() => true, () => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}

export async function probeReadiness (app: FastifyInstance, queueUrl: string, timeoutMs = READINESS_TIMEOUT_MS): Promise<Readiness> {
  const databases = app.dbRead === app.db ? [app.db] : [app.db, app.dbRead]
  const [database, queue] = await Promise.all([
    answers(async () => await Promise.all(databases.map(async (db) => await sql`SELECT 1`.execute(db))), timeoutMs),
    answers(async () => await app.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })), timeoutMs)
  ])
  return { database, queue }
}
