import { LAB_ID_MAX, MAX_LISTED_PROBLEMS } from './limits.ts'
import { parseTimestamp } from './timestamp.ts'
import { describeValue, isOutOfRangeReason, parseHumidity, parseTemperature, type Parsed } from './units.ts'

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
  /** the first MAX_LISTED_PROBLEMS refused items, by index */
  rejected: Rejection[]
  /** how many items were refused in all */
  rejectedCount: number
  /** how many of those were refused for a value outside its range (a sensor fault, not a format problem) */
  outOfRangeCount: number
  /** the first MAX_LISTED_PROBLEMS items that are not objects (indexes): such a body is malformed as a whole */
  notObjects: number[]
  /** how many items are not objects in all */
  notObjectCount: number
}

export interface ItemRules {
  /** the lab given by the URL (`/labs/{labId}/readings`); items then need no lab_id */
  labId?: number
  /** a further check of each valid reading (e.g. the caller's lab); a reason refuses it */
  admit?: (reading: Reading) => string | undefined
}

/**
 * The one pass over a body's items: splits them into readings to store and refusals by index. Only the
 * first MAX_LISTED_PROBLEMS refusals are kept (the rest are counted), and once an item is found that is
 * not an object, the remaining items are only counted, so the cost of a hostile body does not grow with
 * the number of its bad items.
 */
export function parseReadingItems (items: readonly unknown[], nowMs: number, rules: ItemRules = {}): ParsedItems {
  const out: ParsedItems = { readings: [], rejected: [], rejectedCount: 0, outOfRangeCount: 0, notObjects: [], notObjectCount: 0 }
  const { labId, admit } = rules
  for (let index = 0; index < items.length; index++) {
    const item = items[index]
    if (!isPlainObject(item)) {
      if (out.notObjectCount++ < MAX_LISTED_PROBLEMS) out.notObjects.push(index)
      continue
    }
    if (out.notObjectCount > 0) continue
    const result = parseReadingItem(item, nowMs, labId)
    let reason: string | undefined
    if (result.ok) {
      reason = admit?.(result.value)
      if (reason === undefined) {
        out.readings.push(result.value)
        continue
      }
    } else {
      reason = result.reason
    }
    if (out.rejectedCount++ < MAX_LISTED_PROBLEMS) out.rejected.push({ index, reason })
    if (isOutOfRangeReason(reason)) out.outOfRangeCount++
  }
  return out
}
