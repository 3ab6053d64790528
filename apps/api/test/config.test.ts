import t from 'tap'
import { loadApiConfig } from '../src/config.ts'

const base = { DATABASE_URL: 'mysql://u:p@db:3306/lc', SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/readings', AWS_REGION: 'eu-west-1' }

t.test('the API reads its defaults and every variable it documents', async (t) => {
  const config = loadApiConfig(base)
  t.match(config, {
    port: 3000,
    host: '0.0.0.0',
    logLevel: 'info',
    databaseUrl: base.DATABASE_URL,
    dbPoolSize: 10,
    ingestLingerMs: 5,
    authCacheSeconds: 30,
    rateLimitPerMinute: 600,
    requestTimeoutMs: 30_000,
    metricsEmf: true
  })
  t.same(config.sqs, { queueUrl: base.SQS_QUEUE_URL, region: 'eu-west-1' }, 'no endpoint or static credentials in AWS')
  const local = loadApiConfig({ ...base, PORT: '8080', SQS_ENDPOINT: 'http://127.0.0.1:4566', METRICS_EMF: 'false', LOG_LEVEL: 'debug' })
  t.match(local, { port: 8080, metricsEmf: false, logLevel: 'debug', sqs: { endpoint: 'http://127.0.0.1:4566', credentials: { accessKeyId: 'local' } } })
})
