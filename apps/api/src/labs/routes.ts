import { createLab, LabExistsError, windowTotals, type Lab as StoredLab } from '@labclimate/store'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { LabParams, pathId } from '../http/ids.ts'
import { HttpProblem, problemResponses } from '../http/problem.ts'
import { findLabOnReader } from '../plugins/database.ts'
import { last24Hours, LabAverage, toLabAverage } from '../query/averages.ts'
import { Lab, NewLab } from './schemas.ts'

const toLab = (lab: StoredLab): typeof Lab.static =>
  ({ id: lab.id, name: lab.name, address: lab.address, created_at: new Date(lab.createdAtMs).toISOString() })

export default async function labRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.post('/labs', {
    config: { auth: 'admin' },
    schema: {
      summary: 'Register a lab',
      tags: ['labs'],
      body: NewLab,
      response: { 201: Lab, ...problemResponses }
    }
  }, async (request, reply) => {
    try {
      const lab = await createLab(app.db, { ...request.body, nowMs: app.now() })
      app.labDirectory.remember(lab.id)
      reply.code(201).header('location', `/labs/${lab.id}`)
      return toLab(lab)
    } catch (error) {
      if (error instanceof LabExistsError) throw new HttpProblem(409, `Lab ${request.body.id ?? ''} already exists.`, { cause: error })
      throw error
    }
  })

  app.get('/labs/:labId', {
    config: { auth: 'read' },
    schema: {
      summary: 'One lab and its averages over the past 24 h',
      tags: ['labs'],
      params: LabParams,
      response: {
        200: Type.Composite([Lab, Type.Object({
          averages: Type.Union([LabAverage, Type.Null()], { description: 'null when the lab has no readings in the window' })
        })]),
        ...problemResponses
      }
    }
  }, async (request) => {
    const labId = pathId(request.params.labId, 'Lab')
    const window = last24Hours(app.now())
    // Both at once (one round trip of latency, not two); the totals of a lab that does not exist are dropped.
    const [lab, [totals]] = await Promise.all([findLabOnReader(app, labId), windowTotals(app.dbRead, window, labId)])
    if (lab === undefined) throw new HttpProblem(404, `Lab ${request.params.labId} does not exist.`)
    return { ...toLab(lab), averages: totals === undefined ? null : toLabAverage(totals, window) }
  })
}
