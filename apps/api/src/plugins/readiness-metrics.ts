// DatabaseReady / QueueReady (1 or 0) from a probe on a timer, for the alarms: the load balancer checks liveness only
// (docs/decisions/0006-health-checks.md).
import fp from 'fastify-plugin'
import { probeReadiness, READINESS_TIMEOUT_MS } from '../readiness.ts'

export interface ReadinessMetricsOptions {
  queueUrl: string
  /** How often to probe; CloudWatch alarms read one-minute periods. */
  intervalMs?: number
  /** A probe that has not answered by then counts as not ready. */
  timeoutMs?: number
}

export default fp<ReadinessMetricsOptions>(async (app, { queueUrl, intervalMs = 60_000, timeoutMs = READINESS_TIMEOUT_MS }) => {
  let running: Promise<void> | undefined
  const probe = async (): Promise<void> => {
    const { database, queue } = await probeReadiness(app, queueUrl, timeoutMs)
    app.metrics.gauge('DatabaseReady', database ? 1 : 0)
    app.metrics.gauge('QueueReady', queue ? 1 : 0)
    if (!database || !queue) app.log.warn({ database, queue }, 'readiness probe: a dependency does not answer')
  }
  const timer = setInterval(() => { running ??= probe().finally(() => { running = undefined }) }, intervalMs)
  timer.unref()
  app.addHook('onClose', async () => {
    clearInterval(timer)
    await running
  })
}, { name: 'readiness-metrics', dependencies: ['database', 'queue'] })
