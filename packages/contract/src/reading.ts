import { LAB_ID_MAX } from './limits.ts'
import { parseTimestamp } from './timestamp.ts'
import { describeValue, parseHumidity, parseTemperature, type Parsed } from './units.ts'

/** A reading as stored: UTC epoch ms, thousandths of °C and of %RH. The one definition everyone uses. */
export interface Reading {
  labId: number
  recordedAtMs: number
  temperatureMilliC: number
  humidityMilliPct: number
}

/** A reading that was refused, by its position in the request body. */
export interface Rejection {
  index: number
  reason: string
}

export function parseLabId (input: unknown): Parsed<number> {
  let id: number
  if (typeof input === 'number') id = input
  else if (typeof input === 'string' && /^\s*\d{1,10}\s*$/.test(input)) id = Number(input)
  else return { ok: false, reason: `lab_id must be a positive whole number or a numeric string, not ${describeValue(input)}` }
  if (!Number.isInteger(id) || id < 1 || id > LAB_ID_MAX) {
    return { ok: false, reason: `lab_id ${describeValue(input)} is not a whole number from 1 to ${LAB_ID_MAX}` }
  }
  return { ok: true, value: id }
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Checks one item of an upload. `labId` is given by the route (`/labs/{labId}/readings`)
 * or read from the item's own `lab_id` (`/labs/upload`). Returns the first problem found.
 */
export function parseReadingItem (item: unknown, nowMs: number, labId?: number): Parsed<Reading> {
  if (!isPlainObject(item)) return { ok: false, reason: `a reading must be an object, not ${describeValue(item)}` }
  let lab: number
  if (labId !== undefined) {
    if (Object.hasOwn(item, 'lab_id')) {
      const own = parseLabId(item.lab_id)
      if (!own.ok || own.value !== labId) return { ok: false, reason: `lab_id ${describeValue(item.lab_id)} does not match the lab ${labId} in the URL` }
    }
    lab = labId
  } else {
    if (!Object.hasOwn(item, 'lab_id')) return { ok: false, reason: 'lab_id is missing' }
    const parsed = parseLabId(item.lab_id)
    if (!parsed.ok) return parsed
    lab = parsed.value
  }
  for (const field of ['timestamp', 'temperature', 'humidity'] as const) {
    if (!Object.hasOwn(item, field)) return { ok: false, reason: `${field} is missing` }
  }
  const ts = parseTimestamp(item.timestamp, nowMs)
  if (!ts.ok) return ts
  const temperature = parseTemperature(item.temperature)
  if (!temperature.ok) return temperature
  const humidity = parseHumidity(item.humidity)
  if (!humidity.ok) return humidity
  return { ok: true, value: { labId: lab, recordedAtMs: ts.value, temperatureMilliC: temperature.value, humidityMilliPct: humidity.value } }
}

export interface ParsedItems {
  readings: Reading[]
  /** indexes[i] is the position in the body of readings[i] */
  indexes: number[]
  rejected: Rejection[]
}

/** Splits a body's items into readings to store and rejections by index. */
export function parseReadingItems (items: readonly unknown[], nowMs: number, labId?: number): ParsedItems {
  const readings: Reading[] = []
  const indexes: number[] = []
  const rejected: Rejection[] = []
  for (let index = 0; index < items.length; index++) {
    const result = parseReadingItem(items[index], nowMs, labId)
    if (result.ok) {
      readings.push(result.value)
      indexes.push(index)
    } else {
      rejected.push({ index, reason: result.reason })
    }
  }
  return { readings, indexes, rejected }
}
