import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { problem, PROBLEM_CONTENT_TYPE } from './problem.ts'

const DETAILS: Record<string, [number, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request did not arrive in time; send the whole body promptly.'],
  HPE_HEADER_OVERFLOW: [431, 'The request headers are too large.'],
  HPE_INVALID_METHOD: [400, 'That is not an HTTP method.']
}

/**
 * Node answers errors below HTTP (a request that never finished, a malformed one) by
 * itself; Fastify lets us write that answer. Ours is problem+json like every other 4xx.
 */
export function answerClientError (error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const [status, detail] = DETAILS[error.code ?? ''] ?? [400, 'The request is not valid HTTP.']
  const body = JSON.stringify(problem(status, STATUS_CODES[status] ?? 'Error', detail))
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}
