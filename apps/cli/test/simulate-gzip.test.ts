// The simulator sends gzip bodies by default (--no-gzip: plain JSON), and the real API takes them.
import { gunzipSync } from 'node:zlib'
import t from 'tap'
import app, { serverOptions } from '@labclimate/api'
import { testAppBuilder } from '@labclimate/testkit/app'
import { parseSimulateArgs, READINGS_PER_DAY, simulate, type SimulateOptions } from '../src/simulate.ts'

const buildTestApp = testAppBuilder({ app, serverOptions })

t.test('gzip is the default, --no-gzip turns it off', async (t) => {
  t.equal(parseSimulateArgs([]).gzip, true)
  t.equal(parseSimulateArgs(['--no-gzip']).gzip, false)
  t.equal(parseSimulateArgs(['--gzip']).gzip, true)
})

t.test('day batches arrive gzipped at the real API, every reading accepted, ~8x fewer bytes', async (t) => {
  const ctx = await buildTestApp(t)
  const labs: Array<{ labId: number, deviceKey: string }> = []
  for (const id of [1, 2]) {
    t.equal((await ctx.app.inject({ method: 'POST', url: '/labs', headers: ctx.admin, payload: { id, name: `Lab ${id}`, address: 'A' } })).statusCode, 201)
    labs.push({ labId: id, deviceKey: (await ctx.device(id)).authorization.slice('Bearer '.length) })
  }
  const seen: Array<{ encoding: string | undefined, bytes: number, readings: number }> = []
  // fetch answered by the app itself (inject), so the real decoding and parsing run.
  const viaApp = (async (url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>
    const body = init.body as Buffer | string
    const plain = headers['content-encoding'] === 'gzip' ? gunzipSync(body as Buffer).toString() : String(body)
    seen.push({ encoding: headers['content-encoding'], bytes: Buffer.byteLength(body), readings: (JSON.parse(plain) as unknown[]).length })
    const res = await ctx.app.inject({ method: 'POST', url: new URL(url).pathname, headers, payload: body })
    return new Response(res.body, { status: res.statusCode })
  }) as unknown as typeof fetch
  const run = async (options: Partial<SimulateOptions>): Promise<Awaited<ReturnType<typeof simulate>>> => await simulate(
    { url: 'http://api', mode: 'day', labs: 2, days: 1, rate: 0, interval: 30, duration: 60, concurrency: 2, seed: 3, json: true, ...options },
    { labs }, { fetch: viaApp, now: Date.now, sleep: async () => {}, progress: { write: () => {}, isTTY: false } })
  const zipped = await run({ gzip: parseSimulateArgs([]).gzip })
  t.same(zipped.errors, {})
  t.equal(zipped.readings_accepted, 2 * READINGS_PER_DAY)
  t.same(seen.map((s) => [s.encoding, s.readings]), [['gzip', READINGS_PER_DAY], ['gzip', READINGS_PER_DAY]])
  t.equal(zipped.body_bytes_sent, seen[0]!.bytes + seen[1]!.bytes, 'bytes on the wire are counted')
  seen.length = 0
  const plain = await run({ gzip: false, seed: 4 })
  t.equal(plain.readings_accepted, 2 * READINGS_PER_DAY)
  t.same(seen.map((s) => s.encoding), [undefined, undefined])
  t.ok(zipped.body_bytes_sent * 5 < plain.body_bytes_sent, `gzip: ${zipped.body_bytes_sent} bytes vs plain ${plain.body_bytes_sent}`)
})
