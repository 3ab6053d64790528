import { HUMIDITY_MAX_PCT, HUMIDITY_MIN_PCT, MILLI, TEMPERATURE_MAX_C, TEMPERATURE_MIN_C } from './limits.ts'

const OUTSIDE = 'outside the allowed range'

/** True for the reason given to a reading whose value was readable but outside the allowed range (a sensor fault). */
export function isOutOfRangeReason (reason: string): boolean {
  return reason.includes(OUTSIDE)
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string }

const NUMBER = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`
// "21.5", "21.5°C", "21.5 C", "70.7°F", "294.65K", "21.5 ℃" (degree sign variants seen in the wild: ° º ˚)
const TEMPERATURE_TEXT = new RegExp(String.raw`^\s*(${NUMBER})\s*(?:([°º˚])\s*)?([CcFfKk]|℃|℉|\u212A)?\s*$`)
// "45", "45%", "45 %", "45%RH", "45 %rh"
const HUMIDITY_TEXT = new RegExp(String.raw`^\s*(${NUMBER})\s*(%\s*(?:[Rr][Hh])?|[Rr][Hh])?\s*$`)

/** Rounds to the nearest thousandth as an integer; never returns -0. */
export function toMilli (value: number): number {
  return Math.round(value * MILLI) + 0
}

export function fromMilli (milli: number): number {
  return milli / MILLI
}

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : String(value)
}

function celsiusFrom (amount: number, unit: string): number {
  switch (unit) {
    case 'F': case 'f': case '℉': return (amount - 32) * 5 / 9
    case 'K': case 'k': case '\u212A': return amount - 273.15
    default: return amount
  }
}

/**
 * The forms devices send nearly always, `"21.50°C"` and `"45.2%"`: an optional minus, digits, optionally a point
 * and digits, then exactly `suffix`. Read character by character (the regexes were ~5 % of a day-batch upload's
 * CPU); anything else returns undefined and goes through the regex, which accepts these same strings identically.
 */
function plainDecimalBefore (text: string, suffix: string): number | undefined {
  const end = text.length - suffix.length
  if (end < 1 || !text.endsWith(suffix)) return undefined
  let i = text.charCodeAt(0) === 45 ? 1 : 0
  const firstDigit = i
  while (i < end && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++
  if (i === firstDigit) return undefined
  if (i < end && text.charCodeAt(i) === 46) {
    const point = ++i
    while (i < end && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++
    if (i === point) return undefined
  }
  return i === end ? Number(text.slice(0, end)) : undefined
}

/** Accepts a number in °C or a string with an optional unit (°C, °F, K). Returns m°C. */
export function parseTemperature (input: unknown): Parsed<number> {
  let celsius: number
  if (typeof input === 'number') {
    celsius = input
  } else if (typeof input === 'string') {
    const fast = plainDecimalBefore(input, '°C')
    const match = fast === undefined ? TEMPERATURE_TEXT.exec(input) : null
    if (fast !== undefined) {
      celsius = fast
    } else if (match === null) {
      return { ok: false, reason: `temperature ${describe(input)} is not a number with an optional unit (°C, °F or K)` }
    } else {
      const [, amount, degree, unit] = match
      if (degree !== undefined && unit === undefined) {
        return { ok: false, reason: `temperature ${describe(input)} has a degree sign but no unit; write °C or °F` }
      }
      celsius = celsiusFrom(Number(amount), unit ?? 'C')
    }
  } else {
    return { ok: false, reason: `temperature must be a number in °C or a string like "21.5°C", not ${describe(input)}` }
  }
  if (!Number.isFinite(celsius)) return { ok: false, reason: `temperature ${describe(input)} is not a finite number` }
  if (celsius < TEMPERATURE_MIN_C || celsius > TEMPERATURE_MAX_C) {
    return { ok: false, reason: `temperature ${describe(input)} is ${round2(celsius)} °C, ${OUTSIDE} ${TEMPERATURE_MIN_C} to ${TEMPERATURE_MAX_C} °C` }
  }
  return { ok: true, value: toMilli(celsius) }
}

/** Accepts a number in %RH or a string like "45%" / "45 %RH". Returns m%RH. */
export function parseHumidity (input: unknown): Parsed<number> {
  let pct: number
  if (typeof input === 'number') {
    pct = input
  } else if (typeof input === 'string') {
    const fast = plainDecimalBefore(input, '%')
    if (fast !== undefined) {
      pct = fast
    } else {
      const match = HUMIDITY_TEXT.exec(input)
      if (match === null) return { ok: false, reason: `humidity ${describe(input)} is not a number with an optional "%" or "%RH"` }
      pct = Number(match[1])
    }
  } else {
    return { ok: false, reason: `humidity must be a number in %RH or a string like "45%", not ${describe(input)}` }
  }
  if (!Number.isFinite(pct)) return { ok: false, reason: `humidity ${describe(input)} is not a finite number` }
  if (pct < HUMIDITY_MIN_PCT || pct > HUMIDITY_MAX_PCT) {
    return { ok: false, reason: `humidity ${describe(input)} is ${OUTSIDE} ${HUMIDITY_MIN_PCT} to ${HUMIDITY_MAX_PCT} %RH` }
  }
  return { ok: true, value: toMilli(pct) }
}

function round2 (value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : String(value)
}

export { describe as describeValue }
