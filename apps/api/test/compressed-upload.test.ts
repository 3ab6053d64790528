// Compressed uploads: gzip (and br, zstd, deflate) bodies on the ingest routes are decoded before parsing, the
// 4 MiB limit applies to the decoded bytes (a bomb is cut off early), and bad or unknown codings are 4xx problems.
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { decodeMessage, UPLOAD_BODY_LIMIT_BYTES, type Reading } from '@labclimate/contract'
import { Readable } from 'node:stream'
import { brotliCompressSync, createGzip, deflateSync, gzipSync } from 'node:zlib'
import * as zlib from 'node:zlib'
import t, { type Test } from 'tap'
import { decode } from '../src/http/content-encoding.ts'
import { buildTestApp, type TestApp } from './helper.ts'

const NOW = Date.UTC(2026, 10, 25, 23, 0, 0)

async function queued (ctx: TestApp): Promise<Reading[]> {
  const out: Reading[] = []
  for (;;) {
    const r = await ctx.queue.client.send(new ReceiveMessageCommand({ QueueUrl: ctx.queue.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
    if (r.Messages === undefined || r.Messages.length === 0) return out
    for (const m of r.Messages) out.push(...decodeMessage(m.Body ?? '').readings)
  }
}

async function withLab (t: Test): Promise<TestApp & { key: { authorization: string } }> {
  const ctx = await buildTestApp(t, { now: () => NOW })
  t.equal((await ctx.app.inject({ method: 'POST', url: '/labs', headers: ctx.admin, payload: { id: 4, name: 'Lab 4', address: 'A' } })).statusCode, 201)
  return { ...ctx, key: await ctx.device(4) }
}

/** A JSON body sent with a Content-Encoding, by the lab's device key unless another is given. */
async function postCoded (
  ctx: Awaited<ReturnType<typeof withLab>>, coding: string, payload: string | Buffer, url = '/labs/upload', auth = ctx.key
): Promise<Awaited<ReturnType<TestApp['app']['inject']>>> {
  return await ctx.app.inject({ method: 'POST', url, headers: { ...auth, 'content-type': 'application/json', 'content-encoding': coding }, payload })
}

/** A day of lab 4 as the device sends it, and the readings it means (computed here, in °C and %RH thousandths). */
function dayBatch (): { json: Buffer, readings: Reading[] } {
  const start = NOW - 86_400_000 + 30_000
  const items = Array.from({ length: 2880 }, (_, i) => ({
    lab_id: 4,
    timestamp: new Date(start + i * 30_000).toISOString(),
    temperature: `${20 + (i % 40) / 10}°C`,
    humidity: `${40 + (i % 30)}%`
  }))
  const readings = items.map((_, i) => ({
    labId: 4,
    recordedAtMs: start + i * 30_000,
    temperatureMilliC: 20_000 + (i % 40) * 100,
    humidityMilliPct: (40 + (i % 30)) * 1000
  }))
  return { json: Buffer.from(JSON.stringify(items)), readings }
}

const codings: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => gzipSync(b),
  br: (b) => brotliCompressSync(b),
  deflate: (b) => deflateSync(b),
  ...(typeof zlib.zstdCompressSync === 'function' ? { zstd: (b: Buffer) => zlib.zstdCompressSync(b) } : {})
}

for (const [coding, compress] of Object.entries(codings)) {
  t.test(`a ${coding} day batch is decoded and every reading queued`, async (t) => {
    const ctx = await withLab(t)
    const { json, readings } = dayBatch()
    const body = compress(json)
    t.ok(body.length * 5 < json.length, `${coding} is at least 5x smaller (${json.length} → ${body.length} bytes)`)
    const res = await postCoded(ctx, coding, body)
    t.equal(res.statusCode, 202, res.body.slice(0, 300))
    t.equal(res.json().accepted, 2880)
    t.same((await queued(ctx)).sort((a, b) => a.recordedAtMs - b.recordedAtMs), readings)
  })
}

t.test('one reading gzipped on POST /labs/{id}/readings', async (t) => {
  const ctx = await withLab(t)
  const res = await postCoded(ctx, 'GZIP', gzipSync(JSON.stringify({ timestamp: NOW - 1000, temperature: 21.5, humidity: 40 })), '/labs/4/readings')
  t.equal(res.statusCode, 202, res.body)
  t.same(await queued(ctx), [{ labId: 4, recordedAtMs: NOW - 1000, temperatureMilliC: 21_500, humidityMilliPct: 40_000 }])
})

t.test('the body limit applies to the decompressed size: 413 for a small gzip of a large body', async (t) => {
  const ctx = await withLab(t)
  // ~5 MiB of JSON (just over the limit) compresses to a few KB: the compressed size alone would pass.
  const big = Buffer.from(`[${' '.repeat(UPLOAD_BODY_LIMIT_BYTES + 100)}]`)
  const body = gzipSync(big)
  t.ok(body.length < 100_000)
  const res = await postCoded(ctx, 'gzip', body)
  t.equal(res.statusCode, 413)
  t.match(res.headers['content-type'], /application\/problem\+json/)
  t.match(res.json().detail, /decompressed body is larger than 4194304 bytes/)
  t.same(await queued(ctx), [], 'nothing queued')
  // Just under the limit decompressed is still accepted as a body (then judged as JSON: an empty array is a 4xx of its own).
  const fits = await postCoded(ctx, 'gzip', gzipSync(`[${' '.repeat(UPLOAD_BODY_LIMIT_BYTES - 10)}]`))
  t.not(fits.statusCode, 413, 'a body just under the limit decompressed is not refused for its size')
})

t.test('a decompression bomb is cut off after at most the limit (plus one chunk) of output', async (t) => {
  // 256 MiB of zeros as a gzip stream (~250 KB), fed as a request body would be.
  const gz = createGzip({ level: 9 })
  const zeros = Buffer.alloc(1024 * 1024)
  const compressed: Buffer[] = []
  gz.on('data', (c: Buffer) => compressed.push(c))
  const done = new Promise((resolve) => gz.on('end', resolve))
  for (let i = 0; i < 256; i++) gz.write(zeros)
  gz.end()
  await done
  const bomb = Buffer.concat(compressed)
  // The decoder the route uses, with every chunk it produces counted.
  let produced = 0
  const decoder = zlib.createGunzip()
  const push = decoder.push.bind(decoder)
  decoder.push = (chunk: Buffer | null, encoding?: BufferEncoding) => { if (chunk !== null) produced += chunk.length; return push(chunk, encoding) }
  const limit = UPLOAD_BODY_LIMIT_BYTES
  const out = decode(Readable.from([bomb]), decoder, limit)
  let read = 0
  const error = await new Promise<Error>((resolve) => {
    out.on('data', (c: Buffer) => { read += c.length })
    out.on('error', resolve)
    out.on('end', () => resolve(new Error('ended without error')))
  })
  t.match(error, { statusCode: 413 })
  t.ok(read <= limit, `the parser saw at most the limit (${read})`)
  // Let anything still queued in zlib surface, then check the total the decoder produced.
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.ok(produced <= limit + 1024 * 1024, `decoded output stopped near the limit: ${produced} bytes of 256 MiB`)
})

t.test('corrupt data is 400, an unknown coding 415 with Accept-Encoding, a coded body elsewhere 415', async (t) => {
  const ctx = await withLab(t)
  const json = Buffer.from(JSON.stringify([{ lab_id: 4, timestamp: NOW, temperature: 20, humidity: 40 }]))
  const corrupt = gzipSync(json)
  corrupt.writeUInt32LE(0xdeadbeef, corrupt.length - 8) // wrong CRC
  const bad = await postCoded(ctx, 'gzip', corrupt)
  t.equal(bad.statusCode, 400)
  t.match(bad.json().detail, /not valid for its Content-Encoding/)
  const notGzip = await postCoded(ctx, 'gzip', json)
  t.equal(notGzip.statusCode, 400, 'plain JSON labelled gzip')
  const unknown = await postCoded(ctx, 'compress', json)
  t.equal(unknown.statusCode, 415)
  t.match(unknown.headers['accept-encoding'], /gzip/)
  t.match(unknown.headers['content-type'], /application\/problem\+json/)
  const elsewhere = await postCoded(ctx, 'gzip', gzipSync(JSON.stringify({ name: 'x', address: 'y' })), '/labs', ctx.admin)
  t.equal(elsewhere.statusCode, 415)
  t.same(await queued(ctx), [], 'nothing queued')
})

t.test('OpenAPI says the ingest routes take compressed bodies', async (t) => {
  const ctx = await buildTestApp(t)
  const spec = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json()
  t.match(spec.paths['/labs/upload'].post.description, /Content-Encoding: gzip/)
  t.match(spec.paths['/labs/{labId}/readings'].post.description, /decompressed body/)
  t.notMatch(spec.paths['/labs'].post.description ?? '', /Content-Encoding/)
})
