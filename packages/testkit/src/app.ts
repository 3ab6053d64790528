// The real API on a fresh database and a fresh in-process SQS server. The kit never imports an app
// (packages never import apps), so the caller hands in the API's plugin and server options.
import type { Metrics } from '@labclimate/metrics'
import { createApiKey } from '@labclimate/store'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { createTestDatabase, type TestDatabase } from './mysql.ts'
import { startTestQueue, TEST_CREDENTIALS, type TestQueue } from './sqs.ts'

interface TestContext { teardown: (fn: () => Promise<void> | void) => void }

export interface TestApp {
  app: FastifyInstance
  database: TestDatabase
  queue: TestQueue
  /** Authorization headers of an admin key and a read key */
  admin: { authorization: string }
  reader: { authorization: string }
  /** Authorization header of a new device key for `labId` (the lab must exist) */
  device: (labId: number) => Promise<{ authorization: string }>
}

export interface TestAppOptions {
  now?: () => number
  queueUrl?: string
  rateLimitPerMinute?: number
  authCacheSeconds?: number
  authFailuresPerMinute?: number
  dbOutageStaleSeconds?: number
  /** ALL_LABS_CACHE_MS (the app's default here is no cache) */
  allLabsCacheMs?: number
  /** Node's requestTimeout for a test that listens on a real port */
  requestTimeoutMs?: number
  metrics?: Metrics
}

/** What the builder registers the API plugin with: a subset of the API's own options. */
export interface TestAppPluginOptions {
  databaseUrl: string
  dbPoolSize: number
  sqs: { queueUrl: string, region: string, endpoint: string, credentials: { accessKeyId: string, secretAccessKey: string } }
  ingestLingerMs: number
  authCacheSeconds: number
  authCacheKeys: number
  authFailuresPerMinute: number
  dbOutageStaleSeconds: number
  rateLimitPerMinute: number
  now?: () => number
  allLabsCacheMs?: number
  metrics?: Metrics
}

/** The API's default export and `serverOptions`, as `@labclimate/api` exports them. */
export interface ApiParts {
  app: (fastify: FastifyInstance, options: TestAppPluginOptions) => Promise<void>
  serverOptions: (settings: { requestTimeoutMs: number }) => FastifyServerOptions
}

const bearer = (key: string): { authorization: string } => ({ authorization: `Bearer ${key}` })

/** A `buildTestApp(t, options)` for the given API: the real app on a fresh MariaDB database and SQS server. */
export function testAppBuilder ({ app, serverOptions }: ApiParts): (t: TestContext, options?: TestAppOptions) => Promise<TestApp> {
  return async function buildTestApp (t, options = {}) {
    // Close the app first, then the queue and the database it used.
    const cleanups: Array<() => Promise<void> | void> = []
    const later = { teardown: (fn: () => Promise<void> | void) => { cleanups.unshift(fn) } }
    const database = await createTestDatabase(later)
    const queue = await startTestQueue(later)
    const server = Fastify({ ...serverOptions({ requestTimeoutMs: options.requestTimeoutMs ?? 30_000 }), logger: false })
    t.teardown(async () => {
      await server.close()
      for (const cleanup of cleanups) await cleanup()
    })
    await server.register(app, {
      databaseUrl: database.url,
      dbPoolSize: 3,
      sqs: { queueUrl: options.queueUrl ?? queue.queueUrl, region: queue.region, endpoint: queue.endpoint, credentials: TEST_CREDENTIALS },
      ingestLingerMs: 2,
      authCacheSeconds: options.authCacheSeconds ?? 30,
      authCacheKeys: 100_000,
      authFailuresPerMinute: options.authFailuresPerMinute ?? 1000,
      dbOutageStaleSeconds: options.dbOutageStaleSeconds ?? 300,
      rateLimitPerMinute: options.rateLimitPerMinute ?? 100_000,
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.allLabsCacheMs === undefined ? {} : { allLabsCacheMs: options.allLabsCacheMs }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics })
    })
    await server.ready()
    const nowMs = Date.now()
    const admin = bearer((await createApiKey(database.db, { role: 'admin', label: 'test admin', nowMs })).key)
    const reader = bearer((await createApiKey(database.db, { role: 'read', label: 'test reader', nowMs })).key)
    const device = async (labId: number): Promise<{ authorization: string }> =>
      bearer((await createApiKey(database.db, { role: 'device', labId, label: `device of lab ${labId}`, nowMs })).key)
    return { app: server, database, queue, admin, reader, device }
  }
}
