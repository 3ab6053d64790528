// Queries go to DATABASE_READ_URL (Aurora's reader endpoint); writes, auth and read-your-write paths to the writer.
// Two databases with different contents stand in for writer and reader: what an answer shows says where it came from.
import { randomBytes } from 'node:crypto'
import { createConnection } from 'mysql2/promise'
import type { Reading } from '@labclimate/contract'
import { createApiKey, createLab, storeReadings } from '@labclimate/store'
import Fastify from 'fastify'
import t from 'tap'
import { createTestDatabase, TEST_DATABASE_URL } from '@labclimate/testkit/mysql'
import { mayCreateUsers } from '@labclimate/testkit/role-users'
import { startTestQueue, TEST_CREDENTIALS } from '@labclimate/testkit/sqs'
import app, { serverOptions } from '../src/app.ts'

const MINUTE = 60_000

/** `n` readings of one lab in the past hour, temperatures `celsius` (thousandths stored). */
const readings = (labId: number, nowMs: number, celsius: number, n: number): Reading[] => Array.from({ length: n }, (_, i) => ({
  labId, recordedAtMs: nowMs - 60 * MINUTE + i * MINUTE, temperatureMilliC: celsius * 1000, humidityMilliPct: 50_000
}))

t.test('averages, one lab and series are read from DATABASE_READ_URL; writes and fresh labs from the writer', async (t) => {
  const writer = await createTestDatabase(t)
  const reader = await createTestDatabase(t)
  // The reader is reached as a SELECT-only user where the suite may create one: nothing can write through it.
  let readUrl = reader.url
  if (await mayCreateUsers()) {
    const user = `lct${randomBytes(4).toString('hex')}_ro`
    const admin = await createConnection(TEST_DATABASE_URL)
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', 'read-only'])
    await admin.query(`GRANT SELECT ON \`${reader.name}\`.* TO ?@?`, [user, '%'])
    await admin.end()
    t.teardown(async () => {
      const c = await createConnection(TEST_DATABASE_URL)
      await c.query('DROP USER IF EXISTS ?@?', [user, '%'])
      await c.end()
    })
    const url = new URL(reader.url)
    url.username = user
    url.password = 'read-only'
    readUrl = url.toString()
  }
  const nowMs = Date.now()
  // Same lab id, different contents: 21 °C on the reader, 30 °C on the writer.
  await createLab(reader.db, { id: 7, name: 'Reader copy', address: 'R', nowMs })
  await storeReadings(reader.db, readings(7, nowMs, 21, 40))
  await createLab(writer.db, { id: 7, name: 'Writer copy', address: 'W', nowMs })
  await storeReadings(writer.db, readings(7, nowMs, 30, 10))

  const queue = await startTestQueue(t)
  const api = Fastify({ ...serverOptions({ requestTimeoutMs: 30_000 }), logger: false })
  t.teardown(async () => { await api.close() })
  await api.register(app, {
    databaseUrl: writer.url,
    databaseReadUrl: readUrl,
    dbPoolSize: 2,
    sqs: { queueUrl: queue.queueUrl, region: queue.region, endpoint: queue.endpoint, credentials: TEST_CREDENTIALS },
    ingestLingerMs: 2,
    authCacheSeconds: 30,
    rateLimitPerMinute: 100_000
  })
  // Keys live on the writer only: auth reads the writer (a key made a moment ago must open the API at once).
  const adminKey = (await createApiKey(writer.db, { role: 'admin', label: 'a', nowMs })).key
  const headers = { authorization: `Bearer ${adminKey}` }

  const all = await api.inject({ method: 'GET', url: '/labs', headers })
  t.equal(all.statusCode, 200, 'the key, which exists only on the writer, is accepted')
  t.match(all.json(), [{ lab_id: 7, avg_temperature_c: 21, readings: 40 }], 'GET /labs: the reader\'s figures')
  const one = await api.inject({ method: 'GET', url: '/labs/7', headers })
  t.match(one.json(), { name: 'Reader copy', averages: { avg_temperature_c: 21, readings: 40 } }, 'GET /labs/7: the reader\'s lab and averages')
  const series = await api.inject({ method: 'GET', url: `/labs/7/readings?from=${new Date(nowMs - 2 * 60 * MINUTE).toISOString()}&resolution=raw`, headers })
  t.equal(series.statusCode, 200, 'GET /labs/7/readings')
  t.equal((series.json() as { points: unknown[] }).points.length, 40, 'GET /labs/7/readings: the reader\'s 40 points, not the writer\'s 10')

  // A write goes to the writer; reading it back at once finds it there although the reader has not got it yet.
  t.equal((await api.inject({ method: 'POST', url: '/labs', headers, payload: { id: 8, name: 'New lab', address: 'N' } })).statusCode, 201)
  t.ok(await writer.db.selectFrom('labs').select('id').where('id', '=', 8).executeTakeFirst(), 'lab 8 written to the writer')
  t.notOk(await reader.db.selectFrom('labs').select('id').where('id', '=', 8).executeTakeFirst(), 'not to the reader')
  const fresh = await api.inject({ method: 'GET', url: '/labs/8', headers })
  t.equal(fresh.statusCode, 200, 'a lab missing on the reader is confirmed on the writer before a 404')
  t.match(fresh.json(), { name: 'New lab', averages: null })
  t.equal((await api.inject({ method: 'GET', url: '/labs/8/readings', headers })).statusCode, 200)
  t.equal((await api.inject({ method: 'GET', url: '/labs/9', headers })).statusCode, 404, 'on neither: 404')
  const key = await api.inject({ method: 'POST', url: '/keys', headers, payload: { role: 'device', lab_id: 8, label: 'sensor 8' } })
  t.equal(key.statusCode, 201, 'a device key for the fresh lab (the lab check reads the writer)')
})

t.test('without DATABASE_READ_URL everything uses the one pool', async (t) => {
  const database = await createTestDatabase(t)
  const queue = await startTestQueue(t)
  const api = Fastify({ ...serverOptions({ requestTimeoutMs: 30_000 }), logger: false })
  t.teardown(async () => { await api.close() })
  await api.register(app, {
    databaseUrl: database.url,
    dbPoolSize: 1,
    sqs: { queueUrl: queue.queueUrl, region: queue.region, endpoint: queue.endpoint, credentials: TEST_CREDENTIALS },
    ingestLingerMs: 2,
    authCacheSeconds: 30,
    rateLimitPerMinute: 100_000
  })
  await api.ready()
  t.equal(api.dbRead, api.db)
})
