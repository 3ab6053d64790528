import t from 'tap'
import { loadApiConfig } from '../../../apps/api/src/config.ts'
import { loadWorkerConfig } from '../../../apps/worker/src/config.ts'
import { ConfigError, readEnv } from '../src/index.ts'

const base = { DATABASE_URL: 'mysql://u:p@db:3306/lc', SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/readings', AWS_REGION: 'eu-west-1' }

t.test('the API reads its defaults and every variable it documents', async (t) => {
  const config = loadApiConfig(base)
  t.match(config, { port: 3000, host: '0.0.0.0', logLevel: 'info', databaseUrl: base.DATABASE_URL, dbPoolSize: 10, ingestLingerMs: 5, authCacheSeconds: 30, rateLimitPerMinute: 600, requestTimeoutMs: 30_000, metricsEmf: true })
  t.same(config.sqs, { queueUrl: base.SQS_QUEUE_URL, region: 'eu-west-1' }, 'no endpoint or static credentials in AWS')
  const local = loadApiConfig({ ...base, PORT: '8080', SQS_ENDPOINT: 'http://127.0.0.1:4566', METRICS_EMF: 'false', LOG_LEVEL: 'debug' })
  t.match(local, { port: 8080, metricsEmf: false, logLevel: 'debug', sqs: { endpoint: 'http://127.0.0.1:4566', credentials: { accessKeyId: 'local' } } })
})

t.test('every problem is named at once', async (t) => {
  const error = (() => { try { loadWorkerConfig({ DATABASE_URL: 'postgres://x', PORT: 'x', WORKER_CONSUMERS: '0', SQS_BATCH_SIZE: '11', MIGRATE_ON_START: 'maybe' }); return undefined } catch (e) { return e } })()
  t.type(error, ConfigError)
  t.same((error as ConfigError).problems, [
    'WORKER_CONSUMERS must be a whole number from 1 to 32, not "0"',
    'DATABASE_URL must be a mysql or sqlite URL',
    'SQS_QUEUE_URL is required (http or https URL)',
    'AWS_REGION is required',
    'SQS_BATCH_SIZE must be a whole number from 1 to 10, not "11"',
    'MIGRATE_ON_START must be true or false, not "maybe"'
  ])
})

t.test('blank values count as unset', async (t) => {
  const read = readEnv({ A: '  ', B: ' 7 ' })
  t.equal(read.string('A', { default: 'd' }), 'd')
  t.equal(read.int('B', { default: 1, min: 0, max: 9 }), 7)
  t.doesNotThrow(() => read.done())
})
