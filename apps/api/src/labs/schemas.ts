import { LAB_ID_MAX } from '@labclimate/contract'
import { Type } from '@sinclair/typebox'
import { LabId } from '../http/ids.ts'

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
