import Fastify, { type FastifyInstance } from 'fastify'
import { createTestDatabase, type TestDatabase } from '../../../test/support/mysql.ts'
import { startTestQueue, TEST_CREDENTIALS, type TestQueue } from '../../../test/support/sqs.ts'
import app, { serverOptions } from '../src/app.ts'

interface TestContext { teardown: (fn: () => Promise<void> | void) => void }

export interface TestApp {
  app: FastifyInstance
  database: TestDatabase
  queue: TestQueue
}

/** The real app on a fresh MariaDB database and a fresh in-process SQS server. */
export async function buildTestApp (t: TestContext, options: { now?: () => number, queueUrl?: string } = {}): Promise<TestApp> {
  // Close the app first, then the queue and the database it used.
  const cleanups: Array<() => Promise<void> | void> = []
  const later = { teardown: (fn: () => Promise<void> | void) => { cleanups.unshift(fn) } }
  const database = await createTestDatabase(later)
  const queue = await startTestQueue(later)
  const server = Fastify({ ...serverOptions, logger: false })
  t.teardown(async () => {
    await server.close()
    for (const cleanup of cleanups) await cleanup()
  })
  await server.register(app, {
    databaseUrl: database.url,
    dbPoolSize: 3,
    sqs: { queueUrl: options.queueUrl ?? queue.queueUrl, region: queue.region, endpoint: queue.endpoint, credentials: TEST_CREDENTIALS },
    ingestLingerMs: 2,
    ...(options.now === undefined ? {} : { now: options.now })
  })
  await server.ready()
  return { app: server, database, queue }
}
