import { IngestAccepted, LabReadingItem, MAX_READINGS_PER_REQUEST, UploadItem, UPLOAD_BODY_LIMIT_BYTES } from '@labclimate/contract'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LabParams, pathId } from '../http/ids.ts'
import { HttpProblem, problemResponses } from '../http/problem.ts'
import { acceptReadings, type IngestDeps, type IngestOutcome } from './accept-readings.ts'
import { ingestValidatorCompiler } from './body-shape.ts'

/** The lab of the device key that authenticated this request (the auth hook let only device keys in). */
function deviceLab (request: FastifyRequest): number {
  const labId = request.apiKey?.labId
  if (labId === null || labId === undefined) throw new HttpProblem(403, 'Readings are written with a device key, which names its lab.')
  return labId
}

function answer (reply: FastifyReply, outcome: IngestOutcome): IngestAccepted {
  const { metrics } = reply.server
  metrics.count('ReadingsAccepted', outcome.accepted)
  metrics.count('ReadingsRejected', outcome.rejectedCount)
  metrics.count('ReadingsOutOfRange', outcome.outOfRangeCount)
  const listed = outcome.rejectedCount > outcome.rejected.length ? ` (the first ${outcome.rejected.length} are listed)` : ''
  if (outcome.accepted === 0 && outcome.rejectedCount > 0) {
    throw new HttpProblem(422, `None of the ${outcome.rejectedCount} readings was accepted; see errors for each one${listed}.`, {
      errors: outcome.rejected.map((r) => ({ index: r.index, path: `/${r.index}`, in: 'body', message: r.reason })),
      ...(listed === '' ? {} : { errorsTotal: outcome.rejectedCount })
    })
  }
  reply.code(202)
  const refused = outcome.rejectedCount === 0 ? '' : `; ${outcome.rejectedCount} rejected${listed}`
  return {
    status: true,
    message: `${outcome.accepted} ${outcome.accepted === 1 ? 'reading' : 'readings'} accepted${refused}`,
    accepted: outcome.accepted,
    rejected: outcome.rejected,
    rejected_count: outcome.rejectedCount
  }
}

/** What both upload routes share: device keys, the upload body limit, the item-by-item validator, the 202 answer. */
function uploadRoute<S extends object> (oneObject: boolean, schema: S) {
  return {
    config: { auth: 'device' as const },
    bodyLimit: UPLOAD_BODY_LIMIT_BYTES,
    validatorCompiler: ingestValidatorCompiler({ oneObject }),
    schema: { ...schema, tags: ['ingest'], response: { 202: IngestAccepted, ...problemResponses } }
  }
}

export default async function ingestRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const deps = (request: FastifyRequest): IngestDeps =>
    ({ labDirectory: app.labDirectory, producer: app.readingsProducer, nowMs: app.now(), keyLabId: deviceLab(request) })

  app.post('/labs/upload', uploadRoute(false, {
    summary: 'Upload readings of any labs (the legacy route)',
    description: 'Answers 202 once every accepted reading is durably queued; invalid items are listed in `rejected` by index ' +
      '(the first 100; `rejected_count` counts them all). An item that is not an object makes the whole body a 400.',
    body: Type.Array(UploadItem, { maxItems: MAX_READINGS_PER_REQUEST })
  }), async (request, reply) => answer(reply, await acceptReadings(deps(request), request.body)))

  app.post('/labs/:labId/readings', uploadRoute(true, {
    summary: 'Upload one reading or an array of readings of one lab',
    params: LabParams,
    body: Type.Union([LabReadingItem, Type.Array(LabReadingItem, { maxItems: MAX_READINGS_PER_REQUEST })])
  }), async (request, reply) => {
    const labId = pathId(request.params.labId, 'Lab')
    if (labId !== deviceLab(request)) throw new HttpProblem(403, `This API key may write only lab ${deviceLab(request)}, not lab ${labId}.`)
    if ((await app.labDirectory.existing([labId])).size === 0) throw new HttpProblem(404, `Lab ${labId} does not exist.`)
    const items = Array.isArray(request.body) ? request.body : [request.body]
    return answer(reply, await acceptReadings(deps(request), items, labId))
  })
}
