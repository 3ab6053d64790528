import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { ApiConfig } from './config.ts'
import healthRoutes from './health.ts'
import { installProblemHandlers } from './http/error-handler.ts'
import { installJsonBodyParser } from './http/json-body.ts'
import ingestRoutes from './ingest/routes.ts'
import labRoutes from './labs/routes.ts'
import databasePlugin from './plugins/database.ts'
import labDirectoryPlugin from './plugins/lab-directory.ts'
import queuePlugin from './plugins/queue.ts'
import queryRoutes from './query/routes.ts'
import rootRoutes from './root.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The clock every route reads; tests may pin it. */
    now: () => number
  }
}

export type AppOptions = Pick<ApiConfig, 'databaseUrl' | 'dbPoolSize' | 'sqs' | 'ingestLingerMs'> & { now?: () => number }

/** Server options the app relies on; server.ts and tests both build Fastify with these. */
export const serverOptions: FastifyServerOptions = {
  ajv: {
    customOptions: {
      // Coerce query strings to numbers, but never wrap a lone object into an array:
      // a body that is not an array must be refused, not silently accepted.
      coerceTypes: true,
      removeAdditional: false,
      allErrors: true
    }
  },
  // Fastify's default; stated because ingest relies on it: 413 above this, per-route for uploads.
  bodyLimit: 1024 * 1024,
  return503OnClosing: true
}

/** The whole API as a plugin; it never listens (server.ts does). */
export default async function app (fastify: FastifyInstance, options: AppOptions): Promise<void> {
  fastify.decorate('now', options.now ?? Date.now)
  installProblemHandlers(fastify)
  installJsonBodyParser(fastify)
  await fastify.register(databasePlugin, { url: options.databaseUrl, poolSize: options.dbPoolSize })
  await fastify.register(queuePlugin, { sqs: options.sqs, lingerMs: options.ingestLingerMs })
  await fastify.register(labDirectoryPlugin)
  await fastify.register(rootRoutes)
  await fastify.register(healthRoutes, { queueUrl: options.sqs.queueUrl })
  await fastify.register(ingestRoutes)
  await fastify.register(labRoutes)
  await fastify.register(queryRoutes)
}
