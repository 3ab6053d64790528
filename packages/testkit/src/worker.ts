// The real worker process (as `pnpm start:worker` runs it) storing what is on a test queue, for tests that
// need readings stored the way production stores them rather than by calling the store themselves.
import type { Kysely } from 'kysely'
import type { Database } from '@labclimate/store'
import { startApp, type AppProcess } from './processes.ts'
import { queueDepth, type TestQueue } from './sqs.ts'
import { waitFor } from './wait.ts'

interface Teardown { teardown: (fn: () => Promise<void> | void) => void }

export function startWorkerProcess (t: Teardown, queue: TestQueue, databaseUrl: string): AppProcess {
  const worker = startApp('apps/worker/src/main.ts', {
    DATABASE_URL: databaseUrl,
    SQS_QUEUE_URL: queue.queueUrl,
    SQS_ENDPOINT: queue.endpoint,
    AWS_REGION: queue.region,
    SQS_WAIT_TIME_SECONDS: '1',
    LOG_LEVEL: 'warn',
    METRICS_EMF: 'false'
  })
  t.teardown(async () => { await worker.stop() })
  return worker
}

/** Waits until the queue is empty and `count` readings are stored (polling, with a generous ceiling). */
export async function waitUntilStored (db: Kysely<Database>, queue: TestQueue, count: number, worker: AppProcess, timeoutMs = 60_000): Promise<void> {
  const stored = async (): Promise<number> =>
    Number((await db.selectFrom('readings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
  await waitFor(`${count} readings stored by the worker`, async () => queueDepth(queue) === 0 && (await stored()) === count, timeoutMs, 100)
    .catch(async (error: unknown) => {
      throw new Error(`${String(error)} (${await stored()} stored, ${queueDepth(queue)} on the queue); worker said:\n${worker.output()}`)
    })
}
