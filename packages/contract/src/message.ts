import { HUMIDITY_MAX_PCT, HUMIDITY_MIN_PCT, LAB_ID_MAX, MILLI, TEMPERATURE_MAX_C, TEMPERATURE_MIN_C } from './limits.ts'
import type { Reading } from './reading.ts'

/**
 * The SQS message body, version 1:
 *   {"v":1,"id":"<uuid>","sentAtMs":1764111600000,"readings":[[labId,recordedAtMs,temperatureMilliC,humidityMilliPct],...]}
 * Readings are positional tuples of integers: about 35 bytes each, so one 256 KiB
 * message carries some 7,000 readings (a lab's whole day fits in one message).
 * A reader refuses any other `v`; a new layout gets a new version, never a silent change.
 */
export const MESSAGE_VERSION = 1

export interface ReadingsMessage {
  v: typeof MESSAGE_VERSION
  id: string
  sentAtMs: number
  readings: Reading[]
}

export class MessageDecodeError extends Error {
  override name = 'MessageDecodeError'
}

/** One reading as it appears inside the `readings` array. */
export function encodeReadingTuple (r: Reading): string {
  return `[${r.labId},${r.recordedAtMs},${r.temperatureMilliC},${r.humidityMilliPct}]`
}

/** Wraps already-encoded tuples (joined with commas) in the envelope. */
export function encodeEnvelope (id: string, sentAtMs: number, joinedTuples: string): string {
  return `{"v":${MESSAGE_VERSION},"id":${JSON.stringify(id)},"sentAtMs":${sentAtMs},"readings":[${joinedTuples}]}`
}

/** Bytes the envelope adds around the tuples, for an id of `idLength` ASCII characters. */
export function envelopeOverheadBytes (idLength: number, sentAtMs: number): number {
  return encodeEnvelope('x'.repeat(idLength), sentAtMs, '').length
}

export function encodeMessage (id: string, sentAtMs: number, readings: readonly Reading[]): string {
  return encodeEnvelope(id, sentAtMs, readings.map(encodeReadingTuple).join(','))
}

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max

/** Parses and checks a message body; throws MessageDecodeError for anything that is not a valid v1 message. */
export function decodeMessage (body: string): ReadingsMessage {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch (error) {
    throw new MessageDecodeError('message body is not JSON', { cause: error })
  }
  if (typeof parsed !== 'object' || parsed === null) throw new MessageDecodeError('message body is not an object')
  const { v, id, sentAtMs, readings } = parsed as Record<string, unknown>
  if (v !== MESSAGE_VERSION) throw new MessageDecodeError(`unsupported message version ${JSON.stringify(v)}`)
  if (typeof id !== 'string' || id.length === 0) throw new MessageDecodeError('message id is missing')
  if (!isInt(sentAtMs, 0, Number.MAX_SAFE_INTEGER)) throw new MessageDecodeError('sentAtMs is not epoch milliseconds')
  if (!Array.isArray(readings)) throw new MessageDecodeError('readings is not an array')
  const out: Reading[] = new Array(readings.length)
  for (let i = 0; i < readings.length; i++) {
    const t: unknown = readings[i]
    if (!Array.isArray(t) || t.length !== 4 ||
      !isInt(t[0], 1, LAB_ID_MAX) ||
      !isInt(t[1], 0, Number.MAX_SAFE_INTEGER) ||
      !isInt(t[2], TEMPERATURE_MIN_C * MILLI, TEMPERATURE_MAX_C * MILLI) ||
      !isInt(t[3], HUMIDITY_MIN_PCT * MILLI, HUMIDITY_MAX_PCT * MILLI)) {
      throw new MessageDecodeError(`reading ${i} is not a valid [labId, recordedAtMs, temperatureMilliC, humidityMilliPct] tuple`)
    }
    out[i] = { labId: t[0], recordedAtMs: t[1], temperatureMilliC: t[2], humidityMilliPct: t[3] }
  }
  return { v: MESSAGE_VERSION, id, sentAtMs, readings: out }
}
