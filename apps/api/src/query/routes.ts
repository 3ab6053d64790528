import { DEFAULT_RETENTION, finestRetainedResolution, findLab, readingSeries, windowTotals, type RetentionPolicy } from '@labclimate/store'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { HttpProblem, problemResponses } from '../http/problem.ts'
import { LabParams, pathId } from '../labs/schemas.ts'
import { last24Hours, LabAverage, toLabAverage } from './averages.ts'
import { MAX_POINTS, Series, SeriesQuery, seriesRange, toSeriesPoint } from './series.ts'

export interface QueryRoutesOptions {
  /** what raw and minute data the maintenance job keeps; defaults to its defaults */
  retention?: Partial<Pick<RetentionPolicy, 'rawDays' | 'minuteDays'>>
}

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
  }, async () => {
    const window = last24Hours(app.now())
    const totals = await windowTotals(app.db, window)
    return totals.map((t) => toLabAverage(t, window))
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
    if (await findLab(app.db, labId) === undefined) throw new HttpProblem(404, `Lab ${labId} does not exist.`)
    const points = await readingSeries(app.db, { labId, fromMs, toMs, resolution, limit: MAX_POINTS + 1 })
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
