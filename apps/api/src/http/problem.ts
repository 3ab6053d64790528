import { Type, type Static } from '@sinclair/typebox'

/** RFC 9457 problem details: the body of every 4xx and 5xx answer. */
export const ProblemDetails = Type.Object({
  type: Type.String({ description: 'a URI naming the kind of problem; about:blank when the status says it all' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String({ description: 'what was wrong, for a person' }),
  instance: Type.Optional(Type.String({ description: 'the request path' })),
  errors: Type.Optional(Type.Array(Type.Object({
    index: Type.Optional(Type.Integer({ description: 'position of the offending item in the body array' })),
    path: Type.String({ description: 'JSON pointer into the request part named by `in`' }),
    in: Type.String({ description: 'body, params, querystring or headers' }),
    message: Type.String()
  }), { description: 'the problems found in the request (at most the first 100)' })),
  errors_total: Type.Optional(Type.Integer({ description: 'how many problems were found when there were more than `errors` lists' }))
}, { $id: 'ProblemDetails' })
export type ProblemDetails = Static<typeof ProblemDetails>

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** The response entries every route declares for errors. */
export const problemResponses = {
  '4xx': ProblemDetails,
  '5xx': ProblemDetails
} as const

export function problem (status: number, title: string, detail: string, extra: Partial<ProblemDetails> = {}): ProblemDetails {
  return { type: 'about:blank', title, status, detail, ...extra }
}

type ProblemError = NonNullable<ProblemDetails['errors']>[number]

/** Thrown by handlers for an answer that is the client's to fix; the error handler renders it. */
export class HttpProblem extends Error {
  override name = 'HttpProblem'
  readonly statusCode: number
  readonly errors: ProblemError[] | undefined
  /** how many problems there were, when `errors` lists only the first ones */
  readonly errorsTotal: number | undefined
  readonly headers: Record<string, string>
  constructor (
    statusCode: number,
    detail: string,
    options: { errors?: ProblemError[], errorsTotal?: number, headers?: Record<string, string>, cause?: unknown } = {}
  ) {
    super(detail, { cause: options.cause })
    this.statusCode = statusCode
    this.errors = options.errors
    this.errorsTotal = options.errorsTotal
    this.headers = options.headers ?? {}
  }
}
