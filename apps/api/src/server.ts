// Production entry point: configuration from the environment, listen, close with grace on SIGTERM.
import closeWithGrace from 'close-with-grace'
import Fastify from 'fastify'
import { loadOrExit } from '@labclimate/config'
import { createEmfMetrics, noMetrics } from '@labclimate/metrics'
import app, { serverOptions } from './app.ts'
import { loadApiConfig } from './config.ts'

const config = loadOrExit(loadApiConfig, process.env)

const server = Fastify({
  ...serverOptions(config),
  logger: { level: config.logLevel },
  requestIdHeader: 'x-request-id',
  // Give in-flight requests (and their queued readings) time to finish inside ECS's 30 s stop timeout.
  forceCloseConnections: 'idle'
})

const metrics = config.metricsEmf ? createEmfMetrics({ service: 'api', stage: config.stage, write: (line) => process.stdout.write(`${line}\n`) }) : noMetrics
server.addHook('onClose', async () => { metrics.close() })
await server.register(app, { ...config, metrics })

closeWithGrace({ delay: 25_000 }, async ({ signal, err }) => {
  if (err !== undefined) server.log.error({ err }, 'closing after an error')
  else server.log.info({ signal }, 'closing: finishing requests and flushing queued readings')
  await server.close()
})

await server.listen({ port: config.port, host: config.host })
