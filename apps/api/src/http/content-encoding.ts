import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify'
import { Transform, type Readable } from 'node:stream'
import * as zlib from 'node:zlib'
import { HttpProblem } from './problem.ts'

/** The routes that take compressed bodies: the ingest routes, whose day batches compress ~10:1. */
export const COMPRESSED_BODY_ROUTES: ReadonlySet<string> = new Set(['/labs/upload', '/labs/:labId/readings'])

type Decoder = () => Transform
/** Content codings a body may be sent in; zstd where this Node has it (24 has). */
const DECODERS: Record<string, Decoder> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
  ...(typeof zlib.createZstdDecompress === 'function' ? { zstd: () => zlib.createZstdDecompress() } : {})
}
export const ACCEPTED_ENCODINGS = Object.keys(DECODERS).filter((e) => e !== 'x-gzip')

/**
 * Decodes `Content-Encoding` bodies on the ingest routes before the JSON parser reads them. The route's body limit
 * applies to the decoded bytes, counted as they come out: a decompression bomb is cut off (413) after at most the
 * limit plus one decoder chunk (16 KiB) of output, and the decoder is destroyed at once. Other routes refuse a
 * coded body with 415. Corrupt compressed data is a 400.
 */
export function installContentDecoding (app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!COMPRESSED_BODY_ROUTES.has(route.url) || route.schema === undefined) return
    // OpenAPI says so (the docs plugin reads these schemas when /openapi.json is first asked for).
    const note = `The body may be compressed: \`Content-Encoding: ${ACCEPTED_ENCODINGS.join('`, `')}\`. The body limit applies to the ` +
      'decompressed body (413 once the decompressed bytes pass it); an unknown coding is 415, corrupt compressed data 400.'
    route.schema.description = route.schema.description === undefined ? note : `${route.schema.description} ${note}`
  })
  app.addHook('preParsing', async (request: FastifyRequest, _reply, payload: Readable) => {
    const coding = request.headers['content-encoding']?.trim().toLowerCase()
    if (coding === undefined || coding === '' || coding === 'identity') return payload
    const decoder = DECODERS[coding]
    const accept = { 'accept-encoding': ACCEPTED_ENCODINGS.join(', ') }
    if (!COMPRESSED_BODY_ROUTES.has(request.routeOptions.url ?? '')) {
      throw new HttpProblem(415, 'Only the ingest routes take a compressed body; send this one uncompressed.', { headers: { 'accept-encoding': 'identity' } })
    }
    if (decoder === undefined) {
      throw new HttpProblem(415, `Content-Encoding ${JSON.stringify(coding)} is not supported; ` +
        `use one of ${ACCEPTED_ENCODINGS.join(', ')} (one coding, not a list).`, { headers: accept })
    }
    return decode(payload, decoder(), request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 1024 * 1024)
  })
}

/** The decoded stream, cut off at `limit` decoded bytes; it reports the encoded bytes read as Fastify asks. */
export function decode (payload: Readable, decoder: Transform, limit: number): Readable {
  let encodedBytes = 0
  let decodedBytes = 0
  const tooLarge = (): HttpProblem => new HttpProblem(413, `The decompressed body is larger than ${limit} bytes; send fewer readings per request.`)
  const limiter = new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      decodedBytes += chunk.length
      if (decodedBytes > limit) { callback(tooLarge()); return }
      callback(null, chunk)
    }
  })
  Object.defineProperty(limiter, 'receivedEncodedLength', { get: () => encodedBytes })
  const stop = (): void => {
    payload.unpipe(decoder)
    decoder.destroy()
  }
  payload.on('data', (chunk: Buffer) => {
    encodedBytes += chunk.length
    if (encodedBytes > limit) { stop(); limiter.destroy(tooLarge()) }
  })
  payload.on('error', (error) => { stop(); limiter.destroy(error) })
  decoder.on('error', (error) => {
    stop()
    limiter.destroy(new HttpProblem(400, `The body is not valid for its Content-Encoding: ${error.message}`, { cause: error }))
  })
  limiter.on('error', stop)
  payload.pipe(decoder).pipe(limiter)
  return limiter
}
