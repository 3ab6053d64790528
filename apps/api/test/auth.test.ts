import { createHash } from 'node:crypto'
import t from 'tap'
import { buildTestApp } from './helper.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'

t.test('keys decide who may do what', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, admin, reader } = ctx
  t.equal((await app.inject({ method: 'POST', url: '/labs', headers: admin, payload: { id: 1, name: 'Lab 1', address: 'A' } })).statusCode, 201)
  const device = await ctx.device(1)

  const anonymous = await app.inject({ method: 'GET', url: '/labs' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.headers['content-type'], PROBLEM)
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="labclimate"')
  t.match(anonymous.json().detail, /Authorization: Bearer/)
  t.equal((await app.inject({ method: 'GET', url: '/labs', headers: { authorization: 'Bearer lc_not-a-key' } })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/labs', headers: { authorization: 'Basic abc' } })).statusCode, 401)

  const expect = async (
    headers: { authorization: string } | undefined,
    method: 'GET' | 'POST',
    url: string,
    status: number,
    payload?: object
  ): Promise<void> => {
    const res = await app.inject({ method, url, ...(headers === undefined ? {} : { headers }), ...(payload === undefined ? {} : { payload }) })
    t.equal(res.statusCode, status, `${method} ${url} → ${status}`)
  }
  await expect(undefined, 'GET', '/', 200)
  await expect(undefined, 'GET', '/health/live', 200)
  await expect(reader, 'GET', '/labs', 200)
  await expect(admin, 'GET', '/labs', 200)
  await expect(device, 'GET', '/labs', 403)
  await expect(reader, 'GET', '/labs/1', 200)
  await expect(reader, 'POST', '/labs', 403, { name: 'x', address: 'y' })
  await expect(device, 'POST', '/labs', 403, { name: 'x', address: 'y' })
  await expect(reader, 'POST', '/labs/1/readings', 403, { timestamp: Date.now(), temperature: 20, humidity: 40 })
  await expect(admin, 'POST', '/labs/upload', 403, [])
  await expect(device, 'POST', '/labs/1/readings', 202, { timestamp: Date.now(), temperature: 20, humidity: 40 })
  await expect(reader, 'GET', '/keys', 403)
})

t.test('keys are shown once, stored only hashed, and revocable', async (t) => {
  const ctx = await buildTestApp(t, { authCacheSeconds: 0 })
  const { app, admin } = ctx
  await app.inject({ method: 'POST', url: '/labs', headers: admin, payload: { id: 5, name: 'Lab 5', address: 'A' } })
  const made = await app.inject({ method: 'POST', url: '/keys', headers: admin, payload: { role: 'device', lab_id: 5, label: 'sensor 5' } })
  t.equal(made.statusCode, 201)
  const { id, key, prefix } = made.json()
  t.match(key, /^lc_[A-Za-z0-9_-]{43}$/, '256 random bits')
  t.equal(key.slice(0, 10), prefix)

  const listed = await app.inject({ method: 'GET', url: '/keys', headers: admin })
  t.notMatch(listed.body, key, 'the list never shows a key')
  t.match(listed.json(), [{ role: 'admin' }, { role: 'read' }, { id, role: 'device', lab_id: 5, label: 'sensor 5', revoked_at: null }])

  const row = await ctx.database.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  t.equal(row.key_hash, createHash('sha256').update(key).digest('hex'), 'only the SHA-256 is stored')
  t.notMatch(JSON.stringify(row), key)

  const post = async (): Promise<number> => (await app.inject({
    method: 'POST',
    url: '/labs/5/readings',
    headers: { authorization: `Bearer ${key as string}` },
    payload: { timestamp: Date.now(), temperature: 20, humidity: 40 }
  })).statusCode
  t.equal(await post(), 202)
  t.equal((await app.inject({ method: 'DELETE', url: `/keys/${id as number}`, headers: admin })).statusCode, 204)
  t.equal(await post(), 401, 'a revoked key opens nothing')
  t.equal((await app.inject({ method: 'DELETE', url: `/keys/${id as number}`, headers: admin })).statusCode, 404)

  t.equal((await app.inject({ method: 'POST', url: '/keys', headers: admin, payload: { role: 'device', label: 'no lab' } })).statusCode, 400)
  t.equal((await app.inject({ method: 'POST', url: '/keys', headers: admin, payload: { role: 'read', lab_id: 5, label: 'x' } })).statusCode, 400)
  t.equal((await app.inject({ method: 'POST', url: '/keys', headers: admin, payload: { role: 'device', lab_id: 6, label: 'x' } })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/keys', headers: admin, payload: { role: 'root', label: 'x' } })).statusCode, 400)
})

t.test('rate limits answer 429 problem+json with Retry-After; security headers on every answer', async (t) => {
  const { app, reader } = await buildTestApp(t, { rateLimitPerMinute: 3 })
  const codes: number[] = []
  for (let i = 0; i < 4; i++) codes.push((await app.inject({ method: 'GET', url: '/labs', headers: reader })).statusCode)
  t.same(codes, [200, 200, 200, 429])
  const limited = await app.inject({ method: 'GET', url: '/labs', headers: reader })
  t.equal(limited.headers['content-type'], PROBLEM)
  t.ok(Number(limited.headers['retry-after']) > 0, `retry-after: ${String(limited.headers['retry-after'])}`)
  t.match(limited.json(), { status: 429, title: 'Too Many Requests' })
  const other = await app.inject({ method: 'GET', url: '/' })
  t.equal(other.statusCode, 200, 'another client is not limited by this key\'s use')
  for (const res of [limited, other, await app.inject({ method: 'GET', url: '/nope' })]) {
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.match(res.headers['content-security-policy'], /default-src 'none'/)
    t.match(res.headers['strict-transport-security'], /max-age=/)
  }
})
