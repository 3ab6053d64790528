// Production entry point: configuration from the environment; SIGTERM finishes the batch in hand, then exits.
import { writeFileSync } from 'node:fs'
import { loadOrExit } from '@labclimate/config'
import { createEmfMetrics, noMetrics } from '@labclimate/metrics'
import { pino } from 'pino'
import { loadWorkerConfig } from './config.ts'
import { createWorker } from './worker.ts'

const config = loadOrExit(loadWorkerConfig, process.env)

const log = pino({ level: config.logLevel, base: { service: 'worker' } })
const metrics = config.metricsEmf ? createEmfMetrics({ service: 'worker', stage: config.stage, write: (line) => process.stdout.write(`${line}\n`) }) : noMetrics
const worker = createWorker(config, log, { metrics, ...(config.fleetReportSeconds === undefined ? {} : { fleetReportMs: config.fleetReportSeconds * 1000 }) })

// Liveness for the image's HEALTHCHECK (Dockerfile.worker): the file's age says whether the event loop still turns.
if (config.livenessFile !== undefined) {
  const file = config.livenessFile
  const touch = (): void => { try { writeFileSync(file, `${Date.now()}\n`) } catch (err) { log.warn({ err, file }, 'liveness file not written') } }
  touch()
  setInterval(touch, 5_000).unref()
}

let stopping: Promise<void> | undefined
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'stopping: finishing the batch in hand')
    stopping ??= worker.stop().then(() => { metrics.close(); process.exit(0) }, (err: unknown) => {
      log.error({ err }, 'error while stopping')
      process.exit(1)
    })
  })
}

try {
  await worker.start()
} catch (err) {
  log.fatal({ err }, 'worker could not start')
  process.exit(1)
}
