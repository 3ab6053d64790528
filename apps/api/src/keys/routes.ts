import { createApiKey, findLab, KEY_ROLES, listApiKeys, revokeApiKey, type ApiKey } from '@labclimate/store'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { LabId, PathId, pathId } from '../http/ids.ts'
import { HttpProblem, problemResponses } from '../http/problem.ts'

const Role = Type.Union(KEY_ROLES.map((r) => Type.Literal(r)), { description: 'admin: labs and keys; read: averages and series; device: readings of one lab' })

const KeyInfo = Type.Object({
  id: Type.Integer(),
  prefix: Type.String({ description: 'the first characters of the key, to recognise it' }),
  role: Role,
  lab_id: Type.Union([LabId, Type.Null()]),
  label: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
})

const toInfo = (k: ApiKey): typeof KeyInfo.static => ({
  id: k.id,
  prefix: k.prefix,
  role: k.role,
  lab_id: k.labId,
  label: k.label,
  created_at: new Date(k.createdAtMs).toISOString(),
  revoked_at: k.revokedAtMs === null ? null : new Date(k.revokedAtMs).toISOString()
})

export default async function keyRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.post('/keys', {
    config: { auth: 'admin' },
    schema: {
      summary: 'Create an API key (the key is shown only in this answer)',
      tags: ['keys'],
      body: Type.Object({ role: Role, lab_id: Type.Optional(LabId), label: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      response: {
        201: Type.Composite([KeyInfo, Type.Object({ key: Type.String({ description: 'send as "Authorization: Bearer <key>"; not retrievable later' }) })]),
        ...problemResponses
      }
    }
  }, async (request, reply) => {
    const { role, lab_id: labId, label } = request.body
    if ((role === 'device') !== (labId !== undefined)) {
      throw new HttpProblem(400, 'A device key needs lab_id (the one lab it may write); admin and read keys take none.')
    }
    if (labId !== undefined && await findLab(app.db, labId) === undefined) throw new HttpProblem(404, `Lab ${labId} does not exist.`)
    const { key, apiKey } = await createApiKey(app.db, { role, labId: labId ?? null, label, nowMs: app.now() })
    reply.code(201)
    return { ...toInfo(apiKey), key }
  })

  app.get('/keys', {
    config: { auth: 'admin' },
    schema: { summary: 'List API keys (never the keys themselves)', tags: ['keys'], response: { 200: Type.Array(KeyInfo), ...problemResponses } }
  }, async () => (await listApiKeys(app.db)).map(toInfo))

  app.delete('/keys/:keyId', {
    config: { auth: 'admin' },
    schema: { summary: 'Revoke an API key', tags: ['keys'], params: Type.Object({ keyId: PathId }), response: { 204: Type.Null(), ...problemResponses } }
  }, async (request, reply) => {
    if (!await revokeApiKey(app.db, pathId(request.params.keyId, 'Key'), app.now())) throw new HttpProblem(404, `There is no live key ${request.params.keyId}.`)
    app.forgetApiKey(pathId(request.params.keyId, 'Key'))
    reply.code(204)
    return null
  })
}
