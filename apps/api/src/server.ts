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

// Once closing, every answer ends its connection, so a keep-alive client sends nothing more that could be cut off.
let closing = false
server.addHook('onSend', async (_request, reply) => { if (closing) reply.header('connection', 'close') })

closeWithGrace({ delay: 25_000 }, async ({ signal, err }) => {
  if (err !== undefined) server.log.error({ err }, 'closing after an error')
  else server.log.info({ signal }, 'closing: finishing requests and flushing queued readings')
  closing = true
  // Answers already under way keep their connection: let it idle out quickly instead of after keepAliveTimeout.
  server.server.keepAliveTimeout = 500
  await readWhatIsOnTheWire()
  await server.close()
})

/**
 * Closing destroys connections that Node sees as idle, and a connection whose request is still unread in the
 * socket buffer (a busy event loop) looks idle: a few turns of the loop first let Node accept and start reading
 * every request a client had finished sending, which then gets its answer (or 503 with Connection: close).
 */
async function readWhatIsOnTheWire (): Promise<void> {
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setTimeout(resolve, 10))
}

await server.listen({ port: config.port, host: config.host })
