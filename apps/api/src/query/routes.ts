import { DEFAULT_RETENTION, finestRetainedResolution, readingSeries, windowTotals, type RetentionPolicy } from '@labclimate/store'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { HttpProblem, problemResponses } from '../http/problem.ts'
import { LabParams, pathId } from '../labs/schemas.ts'
import { findLabOnReader } from '../plugins/database.ts'
import { last24Hours, LabAverage, toLabAverage } from './averages.ts'
import { MAX_POINTS, Series, SeriesQuery, seriesRange, toSeriesPoint } from './series.ts'

export interface QueryRoutesOptions {
  /** what raw and minute data the maintenance job keeps; defaults to its defaults */
  retention?: Partial<Pick<RetentionPolicy, 'rawDays' | 'minuteDays'>>
  /**
   * How long one computed all-labs answer (`GET /labs`) is served before it is recomputed; 0 = every request
   * computes it. At fleet scale (46,000 labs) the query reads ~1 M hour and ~3 M minute rollup entries and takes
   * seconds, so production serves a shared answer that is at most this old plus one computation (see docs/capacity.md).
   */
  allLabsCacheMs?: number
}

const gzipAsync = promisify(gzip)

interface AllLabsAnswer { computedAtMs: number, body: Buffer, gzipped: Buffer }
/** A cached all-labs answer older than this is never served (its window would be more than a minute behind). */
const STALE_LIMIT_MS = 60_000

export default async function queryRoutes (fastify: FastifyInstance, options: QueryRoutesOptions = {}): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const retention: RetentionPolicy = { ...DEFAULT_RETENTION, ...options.retention }

  app.get('/labs', {
    config: { auth: 'read' },
    schema: {
      summary: 'Every lab\'s average temperature and humidity over the past 24 h',
      description: 'One entry per lab with readings in the window, ordered by lab id. The window ends at the end of the current minute.',
      tags: ['query'],
      response: { 200: Type.Array(LabAverage), ...problemResponses }
    }
  }, async (request, reply) => {
    if (cacheMs <= 0) {
      const window = last24Hours(app.now())
      return (await windowTotals(app.dbRead, window)).map((t) => toLabAverage(t, window))
    }
    const age = latest === undefined ? Infinity : app.now() - latest.computedAtMs
    // Fresh enough: serve it. Older: serve it while one recomputation runs in the background (whoever asks
    // starts it; at most one at a time). So under steady traffic an answer is at most cacheMs plus one
    // computation old. Older than STALE_LIMIT_MS (an idle API): wait for a new one.
    if (age >= cacheMs) refresh().catch(() => {})
    const answer = latest !== undefined && age < STALE_LIMIT_MS ? latest : await refresh()
    reply.header('cache-control', `private, max-age=${Math.floor(cacheMs / 1000)}`).header('vary', 'accept-encoding')
    // Already JSON (same fields as LabAverage), and gzipped once for all: sent as is, not serialized again.
    const gzip = /\bgzip\b/.test(request.headers['accept-encoding'] ?? '')
    if (gzip) reply.header('content-encoding', 'gzip')
    return await reply.type('application/json; charset=utf-8').send((gzip ? answer.gzipped : answer.body) as unknown as LabAverage[])
  })

  /** The answer as JSON text (serialized once, not per request: at fleet scale it is ~11 MB). */
  async function computeAllLabs (): Promise<string> {
    const window = last24Hours(app.now())
    const totals = await windowTotals(app.dbRead, window)
    return JSON.stringify(totals.map((t) => toLabAverage(t, window)))
  }
  const cacheMs = options.allLabsCacheMs ?? 0
  let latest: AllLabsAnswer | undefined
  let pending: Promise<AllLabsAnswer> | undefined
  async function refresh (): Promise<AllLabsAnswer> {
    if (pending !== undefined) return await pending
    const startedAt = app.now()
    pending = computeAllLabs().then(async (json) => {
      const body = Buffer.from(json)
      latest = { computedAtMs: startedAt, body, gzipped: await gzipAsync(body, { level: 1 }) }
      return latest
    }).finally(() => { pending = undefined })
    // A background refresh that fails is retried by the next request; waiting requests see the error.
    pending.catch(() => {})
    return await pending
  }

  app.get('/labs/:labId/readings', {
    config: { auth: 'read' },
    schema: {
      summary: 'A time series of one lab for charts',
      tags: ['query'],
      params: LabParams,
      querystring: SeriesQuery,
      response: { 200: Series, ...problemResponses }
    }
  }, async (request) => {
    const labId = pathId(request.params.labId, 'Lab')
    const range = seriesRange(request.query, app.now())
    const { fromMs, toMs } = range
    // Past retention the requested resolution is gone: answer from the finest one still kept (the answer says which).
    const resolution = finestRetainedResolution(retention, { fromMs, nowMs: app.now(), requested: range.resolution })
    if (await findLabOnReader(app, labId) === undefined) throw new HttpProblem(404, `Lab ${labId} does not exist.`)
    const points = await readingSeries(app.dbRead, { labId, fromMs, toMs, resolution, limit: MAX_POINTS + 1 })
    return {
      lab_id: labId,
      resolution,
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      truncated: points.length > MAX_POINTS,
      points: points.slice(0, MAX_POINTS).map(toSeriesPoint)
    }
  })
}
