import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /** Answers under this path prefix are pages people open in a browser: they get PAGE_CSP. */
    servePagesUnder: (prefix: string) => void
  }
}

/**
 * Content-Security-Policy of the pages (Swagger UI, the dashboard): their own scripts, styles and images only.
 * Every other answer keeps helmet's `default-src 'none'` (the API serves JSON).
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI and uPlot set style attributes from their scripts.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

/** The page policy for the prefixes page plugins declare, in place of the header helmet set. */
export default fp(async (app: FastifyInstance) => {
  const prefixes: string[] = []
  const isPagePath = (url: string): boolean =>
    prefixes.some((prefix) => url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`))

  app.decorate('servePagesUnder', (prefix: string) => { prefixes.push(prefix) })
  app.addHook('onSend', async (request, reply, payload) => {
    if (isPagePath(request.url)) reply.header('content-security-policy', PAGE_CSP)
    return payload
  })
}, { name: 'page-security' })
