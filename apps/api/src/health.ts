import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { HttpProblem, problemResponses } from './http/problem.ts'
import { probeReadiness } from './readiness.ts'

const Health = Type.Object({ status: Type.Literal('ok') })

/**
 * Readiness is public (load balancers ask without a key) and unlimited, so its answer is shared:
 * computed at most once per this many ms, with one check in flight however many ask.
 */
export const HEALTH_CACHE_MS = 1000

export default async function healthRoutes (fastify: FastifyInstance, { queueUrl }: { queueUrl: string }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  /** The failing parts of the last check, and when it finished; or the check under way. */
  let last: { failing: string[], atMs: number } | undefined
  let running: Promise<string[]> | undefined
  const readiness = async (): Promise<string[]> => {
    if (last !== undefined && Date.now() - last.atMs < HEALTH_CACHE_MS) return last.failing
    running ??= probeReadiness(app, queueUrl).then(({ database, queue }) => {
      const failing = [...(database ? [] : ['database']), ...(queue ? [] : ['queue'])]
      last = { failing, atMs: Date.now() }
      return failing
    }).finally(() => { running = undefined })
    return await running
  }

  app.get('/health/live', {
    logLevel: 'warn',
    config: { auth: 'public' },
    schema: { tags: ['meta'], summary: 'The process is up', response: { 200: Health } }
  }, async () => ({ status: 'ok' as const }))
  app.get('/health/ready', {
    logLevel: 'warn',
    config: { auth: 'public' },
    schema: { tags: ['meta'], summary: 'The database and the queue answer (checked at most once a second)', response: { 200: Health, ...problemResponses } }
  }, async () => {
    const failing = await readiness()
    if (failing.length > 0) throw new HttpProblem(503, `not ready: ${failing.join(' and ')} unreachable`, { headers: { 'retry-after': '5' } })
    return { status: 'ok' as const }
  })
}
