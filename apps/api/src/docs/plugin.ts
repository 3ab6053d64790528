import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema } from 'fastify'
import fp from 'fastify-plugin'
import pkg from '../../package.json' with { type: 'json' }
import { PROBLEM_CONTENT_TYPE, ProblemDetails } from '../http/problem.ts'
import type { Access } from '../plugins/auth.ts'

interface OpenApiDocument {
  paths?: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }>, 'x-labclimate-access'?: Access }>>
  components?: { schemas?: Record<string, unknown> }
}

/**
 * Error answers are problem+json: declare ProblemDetails once as a component and point every 4XX/5XX
 * response at it with the right media type (routes declare it inline through `problemResponses`).
 * Each operation also says which key it needs (`x-labclimate-access`: public, read, device or admin), for
 * tools such as the Postman generator.
 */
function withProblemComponent (doc: OpenApiDocument, access: Map<string, Access>): OpenApiDocument {
  const { $id: _id, ...problemSchema } = ProblemDetails as unknown as Record<string, unknown>
  doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, ProblemDetails: JSON.parse(JSON.stringify(problemSchema)) } }
  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      const needs = access.get(`${method.toUpperCase()} ${path}`)
      if (needs !== undefined) operation['x-labclimate-access'] = needs
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (!/^[45]/.test(status)) continue
        response.content = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/ProblemDetails' } } }
      }
    }
  }
  return doc
}

const NEEDS: Record<Exclude<Access, 'public'>, string> = {
  read: 'Needs a read or admin key.',
  device: 'Needs the device key of the lab.',
  admin: 'Needs an admin key.'
}

/**
 * OpenAPI 3 generated from every route's TypeBox schemas, served at /openapi.json and, as Swagger UI, at
 * /docs. Registered before the routes (it collects them as they are added). Each route's `config.auth`
 * becomes its `security`: public routes need nothing, the others a Bearer API key.
 */
export default fp(async (app: FastifyInstance) => {
  /** "GET /labs/{labId}" → the route's config.auth, written into the document as x-labclimate-access */
  const accessOf = new Map<string, Access>()
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'labclimate API',
        version: pkg.version,
        description: 'Lab-climate ingest: devices upload temperature and humidity readings; people read 24 h averages and chart series. ' +
          'Every 4xx and 5xx answer is application/problem+json (RFC 9457). Send API keys as `Authorization: Bearer <key>`: ' +
          'admin keys manage labs and keys, read keys read, device keys upload readings of their own lab.'
      },
      tags: [
        { name: 'ingest', description: 'device uploads' },
        { name: 'labs', description: 'labs and their averages' },
        { name: 'query', description: 'averages and chart series' },
        { name: 'keys', description: 'API keys (admin)' },
        { name: 'meta', description: 'hello and health' }
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an API key: `Authorization: Bearer <key>`' }
        }
      }
    },
    transformObject: (document) =>
      withProblemComponent((document as unknown as { openapiObject: OpenApiDocument }).openapiObject, accessOf) as Record<string, unknown>,
    transform: ({ schema, url, route }) => {
      const access: Access = route.config?.auth ?? 'admin'
      for (const method of [route.method].flat()) accessOf.set(`${method} ${url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`, access)
      const withSecurity = { ...(schema ?? {}), security: access === 'public' ? [] : [{ bearer: [] }] } as FastifySchema
      if (access !== 'public') {
        const description = (schema as { description?: string } | undefined)?.description
        const needs = NEEDS[access]
        ;(withSecurity as { description?: string }).description = description === undefined ? needs : `${description}\n\n${needs}`
      }
      return { schema: withSecurity, url }
    }
  })

  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger())

  app.addHook('onRoute', (route) => {
    // Swagger UI's own routes (the page, its assets, /docs/json) are public; /docsX is not under /docs.
    if (route.url === '/docs' || route.url.startsWith('/docs/')) route.config = { ...(route.config ?? {}), auth: 'public' }
  })

  // The page loads its scripts and styles from /docs/static (no inline script), as the page policy asks.
  app.servePagesUnder('/docs')
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } })
}, { name: 'docs', dependencies: ['page-security'] })
