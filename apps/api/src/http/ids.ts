import { LAB_ID_MAX } from '@labclimate/contract'
import { Type } from '@sinclair/typebox'
import { HttpProblem } from './problem.ts'

export const LabId = Type.Integer({ minimum: 1, maximum: LAB_ID_MAX, description: 'the lab id' })
/**
 * Ids in paths are digit strings converted by `pathId`: with coercion on, Ajv would let "1e999" (Infinity)
 * through an integer schema.
 */
export const PathId = Type.String({ pattern: '^[1-9][0-9]{0,9}$', description: 'a positive whole number' })
export const LabParams = Type.Object({ labId: PathId })

/** A path id as a number; one beyond the id range names nothing, so it is a 404. */
export function pathId (text: string, what: string): number {
  const id = Number(text)
  if (id > LAB_ID_MAX) throw new HttpProblem(404, `${what} ${text} does not exist.`)
  return id
}
