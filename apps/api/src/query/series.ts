import { DAY_MS } from '@labclimate/config'
import { parseIsoTimestamp } from '@labclimate/contract'
import type { Resolution, SeriesPoint } from '@labclimate/store'
import { Type } from '@sinclair/typebox'
import { HttpProblem } from '../http/problem.ts'
import { roundRatio } from './averages.ts'

/** The longest span each resolution may cover in one request (keeps every answer a chart can draw). */
export const MAX_SPAN_MS: Record<Resolution, number> = { raw: 2 * DAY_MS, minute: 14 * DAY_MS, hour: 400 * DAY_MS }
/** Points in one answer at most; `truncated` says when there were more. */
export const MAX_POINTS = 20_000

export const SeriesQuery = Type.Object({
  from: Type.Optional(Type.String({ description: 'start (inclusive): ISO 8601 with a zone or epoch ms; default `to` minus 24 h' })),
  to: Type.Optional(Type.String({ description: 'end (exclusive): ISO 8601 with a zone or epoch ms; default now' })),
  resolution: Type.Optional(Type.Union([Type.Literal('raw'), Type.Literal('minute'), Type.Literal('hour')], {
    default: 'minute',
    description: 'raw readings, or minute or hour buckets'
  }))
})

export const SeriesPointSchema = Type.Object({
  timestamp: Type.String({ format: 'date-time', description: 'the reading time, or the bucket start' }),
  count: Type.Integer(),
  avg_temperature_c: Type.Number(),
  min_temperature_c: Type.Number(),
  max_temperature_c: Type.Number(),
  avg_humidity_pct: Type.Number(),
  min_humidity_pct: Type.Number(),
  max_humidity_pct: Type.Number()
})

export const Series = Type.Object({
  lab_id: Type.Integer(),
  resolution: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  truncated: Type.Boolean({ description: `true when more than ${MAX_POINTS} points matched; ask for a shorter span` }),
  points: Type.Array(SeriesPointSchema)
})

function parseInstant (name: string, text: string): number {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : parseIsoTimestamp(text)
  if (ms === undefined) {
    throw new HttpProblem(400, `${name} must be ISO 8601 with a zone or epoch milliseconds`, {
      errors: [{ path: `/${name}`, in: 'querystring', message: `${JSON.stringify(text)} is not a time` }]
    })
  }
  return ms
}

export function seriesRange (
  query: { from?: string, to?: string, resolution?: Resolution },
  nowMs: number
): { fromMs: number, toMs: number, resolution: Resolution } {
  const resolution = query.resolution ?? 'minute'
  const toMs = query.to === undefined ? nowMs : parseInstant('to', query.to)
  const fromMs = query.from === undefined ? toMs - DAY_MS : parseInstant('from', query.from)
  if (fromMs >= toMs) throw new HttpProblem(400, '`from` must be before `to`')
  if (toMs - fromMs > MAX_SPAN_MS[resolution]) {
    throw new HttpProblem(400, `a ${resolution} series may span at most ${MAX_SPAN_MS[resolution] / DAY_MS} days; ` +
      'choose a coarser resolution or a shorter range')
  }
  return { fromMs, toMs, resolution }
}

const milli = (n: number): number => n / 1000

export function toSeriesPoint (p: SeriesPoint): typeof SeriesPointSchema.static {
  return {
    timestamp: new Date(p.bucketStartMs).toISOString(),
    count: p.count,
    avg_temperature_c: milli(roundRatio(p.temperatureSum, p.count)),
    min_temperature_c: milli(p.temperatureMin),
    max_temperature_c: milli(p.temperatureMax),
    avg_humidity_pct: milli(roundRatio(p.humiditySum, p.count)),
    min_humidity_pct: milli(p.humidityMin),
    max_humidity_pct: milli(p.humidityMax)
  }
}
