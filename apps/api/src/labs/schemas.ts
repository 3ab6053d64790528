import { LAB_ID_MAX } from '@labclimate/contract'
import { Type } from '@sinclair/typebox'
import { HttpProblem } from '../http/problem.ts'

export const LabId = Type.Integer({ minimum: 1, maximum: LAB_ID_MAX, description: 'the lab id' })
/**
 * Ids in paths are matched as digit strings and converted by `pathId`: with coercion on, Ajv turns
 * "1e999" into Infinity and lets it through an integer schema (found by the hostile-input tests).
 */
export const PathId = Type.String({ pattern: '^[1-9][0-9]{0,9}$', description: 'a positive whole number' })
export const LabParams = Type.Object({ labId: PathId })

/** A path id as a number; one beyond the id range names nothing, so it is a 404. */
export function pathId (text: string, what: string): number {
  const id = Number(text)
  if (id > LAB_ID_MAX) throw new HttpProblem(404, `${what} ${text} does not exist.`)
  return id
}

export const NewLab = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  address: Type.String({ maxLength: 500 }),
  id: Type.Optional(Type.Integer({ minimum: 1, maximum: LAB_ID_MAX, description: 'register a lab under the id its devices already use' }))
}, { additionalProperties: false })

export const Lab = Type.Object({
  id: LabId,
  name: Type.String(),
  address: Type.String(),
  created_at: Type.String({ format: 'date-time' })
})
