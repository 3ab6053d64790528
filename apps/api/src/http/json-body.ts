import type { FastifyInstance } from 'fastify'
import secureJson from 'secure-json-parse'
import { jsonShapeProblem } from './json-shape.ts'
import { HttpProblem } from './problem.ts'

/**
 * A JSON parser that says why a body is bad (Fastify's answers every one with the same sentence), with the same
 * protection against prototype poisoning, and that refuses bodies too large once parsed before parsing them.
 */
export function installJsonBodyParser (app: FastifyInstance): void {
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') {
      done(new HttpProblem(400, 'The body is empty; send JSON.'), undefined)
      return
    }
    // What JSON.parse would build is bounded first: size alone does not bound it (see json-shape.ts).
    const shape = jsonShapeProblem(body as string)
    if (shape !== undefined) {
      done(new HttpProblem(shape.status, shape.detail), undefined)
      return
    }
    try {
      done(null, secureJson.parse(body as string, undefined, { protoAction: 'error', constructorAction: 'error' }))
    } catch (error) {
      done(new HttpProblem(400, `The body is not valid JSON: ${(error as Error).message}`), undefined)
    }
  })
}
