import { UPLOAD_BODY_LIMIT_BYTES } from '@labclimate/contract'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { HttpProblem } from '../http/problem.ts'

/**
 * Body bytes one API key may have in flight at once (by Content-Length; without one, the largest allowed): two
 * maximal uploads, never reached by a device, so that one key cannot make a task buffer twenty 4 MiB bodies.
 */
export const KEY_BODY_BYTES_IN_FLIGHT = 2 * UPLOAD_BODY_LIMIT_BYTES

declare module 'fastify' {
  interface FastifyRequest {
    /** Bytes this request holds in its key's budget, 0 once given back. */
    bodyBudget: number
  }
}

export default fp(async (app) => {
  const inFlight = new Map<number, number>()
  const release = (request: FastifyRequest): void => {
    const keyId = request.apiKey?.id
    if (request.bodyBudget === 0 || keyId === undefined) return
    const left = (inFlight.get(keyId) ?? 0) - request.bodyBudget
    if (left <= 0) inFlight.delete(keyId)
    else inFlight.set(keyId, left)
    request.bodyBudget = 0
  }
  app.decorateRequest('bodyBudget', 0)
  // Runs after the auth hook (registered after it), before the body is read.
  app.addHook('onRequest', async (request) => {
    const keyId = request.apiKey?.id
    if (keyId === undefined) return
    const declared = request.headers['content-length']
    const chunked = request.headers['transfer-encoding'] !== undefined
    if (declared === undefined && !chunked) return
    const bytes = declared === undefined ? UPLOAD_BODY_LIMIT_BYTES : Math.min(Number(declared) || 0, UPLOAD_BODY_LIMIT_BYTES)
    if (bytes === 0) return
    const used = inFlight.get(keyId) ?? 0
    if (used > 0 && used + bytes > KEY_BODY_BYTES_IN_FLIGHT) {
      throw new HttpProblem(429, `This API key already has ${Math.round(used / 1024)} KiB of request bodies in progress; ` +
        'send the next one when an answer has come.', { headers: { 'retry-after': '1' } })
    }
    inFlight.set(keyId, used + bytes)
    request.bodyBudget = bytes
  })
  app.addHook('onResponse', async (request) => { release(request) })
  app.addHook('onRequestAbort', async (request) => { release(request) })
}, { name: 'key-body-budget', dependencies: ['auth'] })
