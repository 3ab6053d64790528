import { Type, type Static } from '@sinclair/typebox'

/*
 * HTTP shapes of a reading, for the OpenAPI document. Items are deliberately loose (each field is
 * `unknown`): a bad item must not fail the whole body, it is refused by index with a reason. The
 * ingest routes do not validate items against these schemas: `parseReadingItems` is the validation,
 * in one pass over the items (an item that is not an object makes the body a 400, as the schema says).
 */
const field = (description: string, examples: unknown[]) => Type.Optional(Type.Unknown({ description, examples }))

const timestamp = field('ISO 8601 with a zone ("2026-11-25T23:00:00Z", "+01:00") or epoch milliseconds', ['2026-11-25T23:00:00Z', 1764111600000])
const temperature = field('°C as a number, or a string with a unit: "21.5°C", "21.5 C", "70.7°F", "294.65K"', [21.5, '70.7°F'])
const humidity = field('%RH as a number (0-100), or a string like "45%"', [45.2, '45%'])

export const UploadItem = Type.Object({
  lab_id: field('the lab: a positive whole number or numeric string', [1, '1']),
  timestamp,
  temperature,
  humidity
}, { additionalProperties: true, description: 'One reading of /labs/upload (the legacy format)' })

export const LabReadingItem = Type.Object({
  timestamp,
  temperature,
  humidity
}, { additionalProperties: true, description: 'One reading of /labs/{labId}/readings; lab_id comes from the URL' })

export const Rejected = Type.Object({
  index: Type.Integer({ minimum: 0, description: 'position of the refused item in the body' }),
  reason: Type.String()
})

export const IngestAccepted = Type.Object({
  status: Type.Boolean({ description: 'true: the accepted readings are durably queued' }),
  message: Type.String(),
  accepted: Type.Integer({ minimum: 0 }),
  rejected: Type.Array(Rejected, { description: 'the first 100 refused items, by index' }),
  rejected_count: Type.Integer({ minimum: 0, description: 'how many items were refused in all (accepted + rejected_count = items sent)' })
})
export type IngestAccepted = Static<typeof IngestAccepted>
