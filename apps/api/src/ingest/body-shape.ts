import { MAX_READINGS_PER_REQUEST } from '@labclimate/contract'
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { FastifySchema, FastifySchemaCompiler } from 'fastify'

interface ShapeError { instancePath: string, schemaPath: string, keyword: string, message: string, params: Record<string, unknown> }
type Check = ((data: unknown) => boolean) & { errors?: ShapeError[] | null }

function failing (check: Check, error: ShapeError): false {
  check.errors = [error]
  return false
}

/**
 * The ingest routes' validator: the body only as a whole, never item by item (the contract's parser checks the
 * items, by index), since a validator walking millions of bad items is what made one 4 MiB body cost 2 GB
 * (docs/architecture.md). Params are compiled by TypeBox, which stops at the first error.
 */
export function ingestValidatorCompiler ({ oneObject }: { oneObject: boolean }): FastifySchemaCompiler<FastifySchema> {
  return ({ schema, httpPart }) => {
    if (httpPart !== 'body') {
      const compiled = TypeCompiler.Compile(schema as TSchema)
      const check: Check = (data) => {
        if (compiled.Check(data)) return true
        const first = compiled.Errors(data).First()
        return failing(check, { instancePath: first?.path ?? '', schemaPath: '#', keyword: 'schema', message: first?.message ?? 'is invalid', params: {} })
      }
      return check
    }
    const check: Check = (body) => {
      if (Array.isArray(body)) {
        if (body.length <= MAX_READINGS_PER_REQUEST) return true
        return failing(check, {
          instancePath: '',
          schemaPath: '#/maxItems',
          keyword: 'maxItems',
          message: `must NOT have more than ${MAX_READINGS_PER_REQUEST} items (it has ${body.length})`,
          params: { limit: MAX_READINGS_PER_REQUEST }
        })
      }
      if (oneObject && typeof body === 'object' && body !== null) return true
      return failing(check, {
        instancePath: '',
        schemaPath: '#/type',
        keyword: 'type',
        message: oneObject ? 'must be an object (one reading) or an array of readings' : 'must be array',
        params: {}
      })
    }
    return check
  }
}
