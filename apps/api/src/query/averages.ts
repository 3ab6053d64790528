import { DAY_MS } from '@labclimate/config'
import type { TimeWindow, WindowTotals } from '@labclimate/store'
import { Type, type Static } from '@sinclair/typebox'

const MINUTE_MS = 60_000

/**
 * The past 24 h as the averages use it: it ends at the end of the current
 * minute (so a reading stored seconds ago is in) and starts 24 h before.
 * Whole-minute ends let the averages come from rollups alone.
 */
export function last24Hours (nowMs: number): TimeWindow {
  const endMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS
  return { startMs: endMs - DAY_MS, endMs }
}

/** n / d rounded to the nearest integer, halves away from zero, exactly (for |n| < 2^53). */
export function roundRatio (n: number, d: number): number {
  const q = Math.floor(Math.abs(n) / d)
  const rem = Math.abs(n) - q * d
  const rounded = rem * 2 >= d ? q + 1 : q
  return n < 0 ? -rounded : rounded
}

/** Formats an integer count of hundredths as "21.50". */
export function formatHundredths (hundredths: number): string {
  const sign = hundredths < 0 ? '-' : ''
  const abs = Math.abs(hundredths)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

export const LabAverage = Type.Object({
  lab_id: Type.Integer(),
  avg_temp: Type.String({ description: 'legacy form, °C to 2 decimals', examples: ['21.50°C'] }),
  avg_humidity: Type.String({ description: 'legacy form, %RH to 2 decimals', examples: ['45.20%'] }),
  avg_temperature_c: Type.Number({ description: 'mean temperature in °C, to 3 decimals' }),
  avg_humidity_pct: Type.Number({ description: 'mean relative humidity in %RH, to 3 decimals' }),
  readings: Type.Integer({ description: 'number of readings averaged' }),
  window_start: Type.String({ format: 'date-time' }),
  window_end: Type.String({ format: 'date-time', description: 'exclusive' })
})
export type LabAverage = Static<typeof LabAverage>

/** Exact means from exact sums (thousandths), rounded half away from zero. */
export function toLabAverage (totals: WindowTotals, window: TimeWindow): LabAverage {
  const { labId, readingCount: n, temperatureSum, humiditySum } = totals
  return {
    lab_id: labId,
    avg_temp: `${formatHundredths(roundRatio(temperatureSum, n * 10))}°C`,
    avg_humidity: `${formatHundredths(roundRatio(humiditySum, n * 10))}%`,
    avg_temperature_c: roundRatio(temperatureSum, n) / 1000,
    avg_humidity_pct: roundRatio(humiditySum, n) / 1000,
    readings: n,
    window_start: new Date(window.startMs).toISOString(),
    window_end: new Date(window.endMs).toISOString()
  }
}
