import { STATUS_CODES } from 'node:http'
import { MAX_LISTED_PROBLEMS } from '@labclimate/contract'
import { EnqueueError } from '@labclimate/queue'
import { isConnectionError } from '@labclimate/store'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpProblem, problem, PROBLEM_CONTENT_TYPE, type ProblemDetails } from './problem.ts'

/** Seconds a client should wait before retrying after the queue or the database was unavailable. */
const QUEUE_RETRY_AFTER_SECONDS = 5

function send (reply: FastifyReply, request: FastifyRequest, body: ProblemDetails): FastifyReply {
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send({ ...body, instance: request.url.split('?')[0] })
}

function validationProblem (error: FastifyError): ProblemDetails {
  const where = error.validationContext ?? 'body'
  const found = error.validation ?? []
  const errors = found.slice(0, MAX_LISTED_PROBLEMS).map((v) => {
    const path = v.instancePath === '' ? '/' : v.instancePath
    const index = where === 'body' ? /^\/(\d+)(?:\/|$)/.exec(v.instancePath)?.[1] : undefined
    const allowed = v.keyword === 'enum' ? `: ${JSON.stringify((v.params as { allowedValues?: unknown }).allowedValues)}` : ''
    return { ...(index === undefined ? {} : { index: Number(index) }), path, in: where, message: `${v.message ?? 'is invalid'}${allowed}` }
  })
  const first = errors[0]
  const detail = first === undefined
    ? error.message
    : `${where}${first.path === '/' ? '' : first.path} ${first.message}`
  return problem(400, 'Bad Request', detail, { errors, ...(found.length > errors.length ? { errors_total: found.length } : {}) })
}

/**
 * One error handler for the whole API: client mistakes become 4xx problem+json saying what and where, queue
 * outages 503 with Retry-After, anything else a logged, bare 500 that reveals nothing about the inside.
 */
export function installProblemHandlers (app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation !== undefined) return send(reply, request, validationProblem(error))
    if (error instanceof HttpProblem) {
      reply.headers(error.headers)
      const title = STATUS_CODES[error.statusCode] ?? 'Error'
      return send(reply, request, problem(error.statusCode, title, error.message, {
        ...(error.errors === undefined ? {} : { errors: error.errors }),
        ...(error.errorsTotal === undefined ? {} : { errors_total: error.errorsTotal })
      }))
    }
    if (error instanceof EnqueueError) {
      request.log.error({ err: error }, 'readings could not be queued')
      reply.header('retry-after', String(QUEUE_RETRY_AFTER_SECONDS))
      // Part of a large request may already be on the queue (it spans several messages); saying nothing was
      // stored would then be false. Sending the same readings again is safe either way: a reading is stored once.
      const detail = error.partial
        ? 'The queue is unavailable: some of the readings were queued and will be stored, the others were not. ' +
          `Send the same readings again in ${QUEUE_RETRY_AFTER_SECONDS} s; readings already queued are stored only once.`
        : `The readings were not accepted because the queue is unavailable; nothing was stored. Retry in ${QUEUE_RETRY_AFTER_SECONDS} s.`
      return send(reply, request, problem(503, 'Service Unavailable', detail))
    }
    if (isConnectionError(error)) {
      request.log.error({ err: error }, 'database unreachable')
      reply.header('retry-after', String(QUEUE_RETRY_AFTER_SECONDS))
      const detail = `The database is unavailable; nothing was changed. Retry in ${QUEUE_RETRY_AFTER_SECONDS} s.`
      return send(reply, request, problem(503, 'Service Unavailable', detail))
    }
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
    if (status < 500) return send(reply, request, problem(status, STATUS_CODES[status] ?? 'Error', error.message))
    request.log.error({ err: error }, 'unhandled error')
    return send(reply, request, problem(status, STATUS_CODES[status] ?? 'Error', 'An unexpected error occurred. It has been logged.'))
  })

  app.setNotFoundHandler((request, reply) =>
    send(reply, request, problem(404, 'Not Found', `There is no ${request.method} ${request.url.split('?')[0]}.`)))
}
