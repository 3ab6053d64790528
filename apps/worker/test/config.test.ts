import { ConfigError } from '@labclimate/config'
import t from 'tap'
import { loadWorkerConfig } from '../src/config.ts'

t.test('every problem is named at once', async (t) => {
  const error = (() => {
    try {
      loadWorkerConfig({ DATABASE_URL: 'postgres://x', PORT: 'x', WORKER_CONSUMERS: '0', SQS_BATCH_SIZE: '11', MIGRATE_ON_START: 'maybe' })
      return undefined
    } catch (e) { return e }
  })()
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
