import { DEFAULT_RETENTION, type RetentionPolicy } from '@labclimate/config'
import { finestRetainedResolution, readingSeries } from '@labclimate/store'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { LabParams, pathId } from '../http/ids.ts'
import { HttpProblem, problemResponses } from '../http/problem.ts'
import { findLabOnReader } from '../plugins/database.ts'
import { AllLabsQuery, acceptsGzip, encodeView, notModified, selectView } from './all-labs.ts'
import { AllLabsCache } from './all-labs-cache.ts'
import { LabAverage } from './averages.ts'
import { MAX_POINTS, Series, SeriesQuery, seriesRange, toSeriesPoint } from './series.ts'

export interface QueryRoutesOptions {
  /** what raw and minute data the maintenance job keeps; defaults to its defaults */
  retention?: Partial<Pick<RetentionPolicy, 'rawDays' | 'minuteDays'>>
  /** how long one computed all-labs answer (`GET /labs`) is served before it is refreshed (see AllLabsCacheOptions) */
  allLabsCacheMs?: number
}

export default async function queryRoutes (fastify: FastifyInstance, options: QueryRoutesOptions = {}): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const retention: RetentionPolicy = { ...DEFAULT_RETENTION, ...options.retention }
  const cacheMs = options.allLabsCacheMs ?? 0
  const cache = new AllLabsCache({ db: () => app.dbRead, now: () => app.now(), cacheMs })

  app.get('/labs', {
    config: { auth: 'read' },
    schema: {
      summary: 'Every lab\'s average temperature and humidity over the past 24 h',
      description: 'One entry per lab with readings in the window, ordered by lab id. The window ends at the end of the current minute. ' +
        'Without parameters: every lab, one array. `lab_id` keeps only the labs named; `limit` (and `after`, the last id of the previous page) ' +
        'pages through them, with `Link: <…>; rel="next"` while there are more. Every answer carries the `ETag` of the shared answer it was cut from: ' +
        'send it back in `If-None-Match` to get 304 while nothing changed. Sent gzipped to clients that accept it.',
      tags: ['query'],
      querystring: AllLabsQuery,
      response: {
        200: Type.Array(LabAverage),
        304: Type.Null({ description: 'Not Modified: the answer is still the one of the ETag sent in If-None-Match' }),
        ...problemResponses
      }
    }
  }, async (request, reply) => {
    const answer = await cache.current()
    reply.header('etag', answer.etag)
      .header('cache-control', cacheMs > 0 ? `private, max-age=${Math.floor(cacheMs / 1000)}` : 'private, no-cache')
      .header('vary', 'accept-encoding')
    if (notModified(request.headers['if-none-match'], answer.etag)) return await reply.code(304).send(null)
    const gzipOk = acceptsGzip(request.headers['accept-encoding'])
    reply.type('application/json; charset=utf-8')
    const { lab_id: labFilter, limit, after } = request.query
    if (labFilter === undefined && limit === undefined && after === undefined) {
      // Already JSON (same fields as LabAverage), and gzipped once for all: sent as is, not serialized again.
      if (gzipOk) reply.header('content-encoding', 'gzip')
      return await reply.send((gzipOk ? answer.gzipped : answer.body) as unknown as LabAverage[])
    }
    const view = selectView(answer.averages, request.query)
    if (view.next !== undefined) reply.header('link', `</labs?${view.next}>; rel="next"`)
    const { body, gzipped } = await encodeView(view.items, gzipOk)
    if (gzipped) reply.header('content-encoding', 'gzip')
    return await reply.send(body as unknown as LabAverage[])
  })

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
    // Both at once (one round trip of latency, not two); the points of a lab that does not exist are dropped.
    const [lab, points] = await Promise.all([
      findLabOnReader(app, labId),
      readingSeries(app.dbRead, { labId, fromMs, toMs, resolution, limit: MAX_POINTS + 1 })
    ])
    if (lab === undefined) throw new HttpProblem(404, `Lab ${labId} does not exist.`)
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
