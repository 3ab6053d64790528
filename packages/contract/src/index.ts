// The package's surface: the limits every side enforces, the reading and its parser, the SQS message and the HTTP items.
export {
  HUMIDITY_MAX_PCT, HUMIDITY_MIN_PCT, LAB_ID_MAX, MAX_FUTURE_SKEW_MS, MAX_LISTED_PROBLEMS, MAX_READING_AGE_DAYS, MAX_READING_AGE_MS,
  MAX_READINGS_PER_REQUEST, MILLI, TEMPERATURE_MAX_C, TEMPERATURE_MIN_C, UPLOAD_BODY_LIMIT_BYTES
} from './limits.ts'
export { parseReadingItems, type Reading, type Rejection } from './reading.ts'
export { parseIsoTimestamp, parseTimestamp } from './timestamp.ts'
export { isOutOfRangeReason, parseHumidity, parseTemperature } from './units.ts'
export {
  decodeMessage, encodeEnvelope, encodeMessage, encodeReadingTuple, envelopeOverheadBytes, MESSAGE_VERSION, MessageDecodeError,
  type ReadingsMessage
} from './message.ts'
export { IngestAccepted, LabReadingItem, Rejected, UploadItem } from './schemas.ts'
