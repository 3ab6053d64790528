import { createServer } from 'node:http'
import { noMetrics, type Metrics } from '@labclimate/metrics'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { DEFENCE_DEFAULTS, type ApiConfig } from './config.ts'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import healthRoutes from './health.ts'
import { installProblemHandlers } from './http/error-handler.ts'
import { installJsonBodyParser } from './http/json-body.ts'
import { installContentDecoding } from './http/content-encoding.ts'
import { answerClientError } from './http/client-error.ts'
import ingestRoutes from './ingest/routes.ts'
import keyRoutes from './keys/routes.ts'
import labRoutes from './labs/routes.ts'
import authPlugin from './plugins/auth.ts'
import keyBodyBudgetPlugin from './plugins/key-body-budget.ts'
import dashboardPlugin from './dashboard/plugin.ts'
import databasePlugin from './plugins/database.ts'
import docsPlugin from './docs/plugin.ts'
import labDirectoryPlugin from './plugins/lab-directory.ts'
import pageSecurityPlugin from './plugins/page-security.ts'
import queuePlugin from './plugins/queue.ts'
import readinessMetricsPlugin from './plugins/readiness-metrics.ts'
import queryRoutes from './query/routes.ts'
import rootRoutes from './root.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The clock every route reads; tests may pin it. */
    now: () => number
    metrics: Metrics
  }
}

type RequiredAppOptions = 'databaseUrl' | 'dbPoolSize' | 'sqs' | 'ingestLingerMs' | 'authCacheSeconds' | 'rateLimitPerMinute'
type OptionalAppOptions = 'retention' | 'allLabsCacheMs' | 'databaseReadUrl' | 'databaseSecurity' | 'authCacheKeys' |
  'authFailuresPerMinute' | 'dbOutageStaleSeconds' | 'readinessProbeMs'

export type AppOptions = Pick<ApiConfig, RequiredAppOptions> & Partial<Pick<ApiConfig, OptionalAppOptions>> & {
  now?: () => number
  /** Business metrics (CloudWatch EMF in production); none by default. */
  metrics?: Metrics
}

/**
 * Server options the app relies on (server.ts and tests build Fastify with these). The HTTP server is made here
 * so that slow bodies are cut off on time (Node checks requestTimeout only every connectionsCheckingInterval) and
 * keep-alive outlives the load balancer's 60 s idle timeout (else it may reuse a closed socket: 502).
 */
export function serverOptions (
  { requestTimeoutMs, trustProxyHops = 0 }: Pick<ApiConfig, 'requestTimeoutMs'> & Partial<Pick<ApiConfig, 'trustProxyHops'>>
): FastifyServerOptions {
  return {
    // Behind the ALB the client's address is the last X-Forwarded-For entry (the one the ALB added; earlier
    // ones are whatever the client sent). Per-address limits need the client's, not the ALB's, address.
    trustProxy: (_address: string, hop: number) => hop < trustProxyHops,
    ajv: {
      customOptions: {
        // Coerce query strings and params to numbers, but never wrap a lone object into an array:
        // a body that is not an array must be refused, not silently accepted.
        coerceTypes: true,
        removeAdditional: false,
        // Stop at the first error: with allErrors, one hostile body yields an error object per bad part
        // (Ajv's own advice for untrusted input). Ingest bodies are not walked by Ajv at all (body-shape.ts).
        allErrors: false,
        // "1e999" coerces to Infinity; refuse it (and NaN) instead of passing it on as a number.
        strictNumbers: true
      }
    },
    // Fastify's default; stated because ingest relies on it: 413 above this, per-route for uploads.
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    // Malformed HTTP and slow bodies never reach a route; answer them as problem+json too.
    clientErrorHandler: answerClientError,
    requestTimeout: requestTimeoutMs,
    serverFactory: (handler) => createServer({
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, requestTimeoutMs),
      keepAliveTimeout: 65_000
    }, handler)
  }
}

/** The whole API as a plugin; it never listens (server.ts does). */
export default async function app (fastify: FastifyInstance, options: AppOptions): Promise<void> {
  fastify.decorate('now', options.now ?? Date.now)
  fastify.decorate('metrics', options.metrics ?? noMetrics)
  installProblemHandlers(fastify)
  installJsonBodyParser(fastify)
  installContentDecoding(fastify)
  await fastify.register(databasePlugin, {
    url: options.databaseUrl,
    poolSize: options.dbPoolSize,
    ...(options.databaseReadUrl === undefined ? {} : { readUrl: options.databaseReadUrl }),
    ...(options.databaseSecurity === undefined ? {} : { security: options.databaseSecurity })
  })
  await fastify.register(queuePlugin, { sqs: options.sqs, lingerMs: options.ingestLingerMs })
  await fastify.register(readinessMetricsPlugin, {
    queueUrl: options.sqs.queueUrl,
    ...(options.readinessProbeMs === undefined ? {} : { intervalMs: options.readinessProbeMs })
  })
  await fastify.register(labDirectoryPlugin)
  // Security headers on every answer; the API serves JSON only, so the strictest policy fits.
  await fastify.register(helmet, { global: true, contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } })
  // The pages (docs, dashboard) get a policy that lets them load their own scripts and styles.
  await fastify.register(pageSecurityPlugin)
  // Keys first: the limiter below counts per authenticated key. Failed authentications are limited per
  // address inside the auth hook, before any database lookup.
  await fastify.register(authPlugin, {
    cacheMs: options.authCacheSeconds * 1000,
    cacheKeys: options.authCacheKeys ?? DEFENCE_DEFAULTS.authCacheKeys,
    staleMs: (options.dbOutageStaleSeconds ?? DEFENCE_DEFAULTS.dbOutageStaleSeconds) * 1000,
    failuresPerMinute: options.authFailuresPerMinute ?? DEFENCE_DEFAULTS.authFailuresPerMinute
  })
  // One key cannot make a task buffer more than two maximal bodies at once.
  await fastify.register(keyBodyBudgetPlugin)
  // Per authenticated key (its id, whatever the header's spelling), or per address on public routes; after the
  // auth hook and before the body is read (preParsing), so a key over its limit costs no parsing.
  await fastify.register(rateLimit, {
    global: true,
    hook: 'preParsing',
    max: options.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => request.apiKey === null ? `ip:${request.ip}` : `key:${request.apiKey.id}`,
    allowList: (request) => request.url.startsWith('/health/')
  })
  // OpenAPI at /openapi.json and Swagger UI at /docs; before the routes, which it collects.
  await fastify.register(docsPlugin)
  // The dashboard page and its assets at /dashboard (public; the data it shows needs a read key).
  await fastify.register(dashboardPlugin)
  await fastify.register(rootRoutes)
  await fastify.register(healthRoutes, { queueUrl: options.sqs.queueUrl })
  await fastify.register(ingestRoutes)
  await fastify.register(labRoutes)
  await fastify.register(keyRoutes)
  await fastify.register(queryRoutes, {
    ...(options.retention === undefined ? {} : { retention: options.retention }),
    ...(options.allLabsCacheMs === undefined ? {} : { allLabsCacheMs: options.allLabsCacheMs })
  })
}
