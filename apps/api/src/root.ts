import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import pkg from '../package.json' with { type: 'json' }
import { problemResponses } from './http/problem.ts'

export default async function rootRoutes (fastify: FastifyInstance): Promise<void> {
  fastify.withTypeProvider<TypeBoxTypeProvider>().get('/', {
    config: { auth: 'public' },
    schema: {
      summary: 'Hello, with the version',
      tags: ['meta'],
      response: { 200: Type.Object({ status: Type.Boolean(), service: Type.String(), version: Type.String(), message: Type.String() }), ...problemResponses }
    }
  }, async () => ({ status: true, service: 'labclimate', version: pkg.version, message: 'labclimate ingest API: POST /labs/upload, GET /labs' }))
}
