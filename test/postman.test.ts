// The committed Postman collection is what scripts/postman.ts makes of the app's OpenAPI document, and it
// passes when newman runs it against the app on a real port with real keys.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import t from 'tap'
import app, { serverOptions } from '@labclimate/api'
import { testAppBuilder } from '@labclimate/testkit/app'
import { COLLECTION_FILE, ENVIRONMENT_FILE, render, toPostman, type OpenApiDocument } from '../scripts/postman.ts'
import { REPO_ROOT } from '@labclimate/testkit/processes'
import { queueDepth } from '@labclimate/testkit/sqs'
import { waitFor } from '@labclimate/testkit/wait'
import { startWorkerProcess } from '@labclimate/testkit/worker'

interface NewmanSummary {
  run: {
    stats: { requests: { total: number, failed: number }, assertions: { total: number, failed: number } }
    failures: Array<{ error: { message: string, test?: string }, source?: { name?: string } }>
    executions: Array<{ item: { name: string }, response?: { code: number } }>
  }
}
interface Newman { run: (options: object, done: (error: Error | null, summary: NewmanSummary) => void) => void }
const newman = createRequire(import.meta.url)('newman') as Newman
const buildTestApp = testAppBuilder({ app, serverOptions })

t.test('postman files are current and the collection passes against a live app', async (t) => {
  const api = await buildTestApp(t)
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  const address = api.app.server.address()
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`

  // Stale check: regenerate from this app's document and compare with what is committed.
  const doc = (await api.app.inject('/openapi.json')).json<OpenApiDocument>()
  const { collection, environment } = toPostman(doc)
  const committedCollection = await readFile(join(REPO_ROOT, COLLECTION_FILE), 'utf8')
  t.equal(committedCollection, render(collection), `${COLLECTION_FILE} is current (else: pnpm exec node scripts/postman.ts)`)
  const committedEnvironment = await readFile(join(REPO_ROOT, ENVIRONMENT_FILE), 'utf8')
  t.equal(committedEnvironment, render(environment), `${ENVIRONMENT_FILE} is current`)
  const operations = Object.values(doc.paths).reduce((n, byMethod) => n + Object.keys(byMethod).length, 0)
  t.equal(collection.item.length, operations, 'one request per operation')

  // The real worker stores what reaches the queue.
  const worker = startWorkerProcess(t, api.queue, api.database.url)

  const summary = await new Promise<NewmanSummary>((resolve, reject) => {
    newman.run({
      collection: JSON.parse(committedCollection) as object,
      environment: JSON.parse(committedEnvironment) as object,
      envVar: [
        { key: 'baseUrl', value: baseUrl },
        { key: 'adminKey', value: api.admin.authorization.slice('Bearer '.length) },
        { key: 'readKey', value: api.reader.authorization.slice('Bearer '.length) }
      ],
      reporters: [],
      timeoutRequest: 10_000,
      timeout: 60_000
    }, (error, result) => { if (error !== null) reject(error); else resolve(result) })
  })
  // The run posted 4 readings; they are stored once the worker has taken them off the queue.
  await waitFor('the queue drained by the worker', () => queueDepth(api.queue) === 0, 60_000, 100)
    .catch((error: unknown) => { throw new Error(`${String(error)}; worker said:\n${worker.output()}`) })

  const { stats, failures, executions } = summary.run
  t.same(failures.map((f) => `${f.source?.name ?? ''}: ${f.error.test ?? ''} ${f.error.message}`), [], 'no failed assertion')
  t.equal(stats.requests.failed, 0)
  t.ok(stats.assertions.total >= operations, `every request asserted something (${stats.assertions.total} assertions)`)
  const executed = new Set(executions.map((e) => e.item.name))
  t.equal(executed.size, collection.item.length, 'every request ran')

  // What the run did, read from the database: a lab with the 4 readings it posted, and a revoked device key.
  const labs = await api.database.db.selectFrom('labs').select(['id', 'name']).where('name', 'like', 'Postman lab %').execute()
  t.equal(labs.length, 1, 'the run created one lab')
  const labId = (labs[0] as { id: number }).id
  const readings = await api.database.db.selectFrom('readings').selectAll().where('lab_id', '=', labId).execute()
  t.equal(readings.length, 4, 'and stored its 4 readings')
  t.equal(readings.reduce((a, r) => a + Number(r.temperature_milli_c), 0) / 4, 21_500, 'whose mean is 21.5 °C')
  const keys = await api.database.db.selectFrom('api_keys').selectAll().where('lab_id', '=', labId).execute()
  t.equal(keys.length, 1)
  t.not(keys[0]?.revoked_at_ms ?? null, null, 'the device key it made is revoked')
})
