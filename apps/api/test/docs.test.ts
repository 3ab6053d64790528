// OpenAPI 3 generated from the route schemas (/openapi.json) and Swagger UI (/docs).
import Fastify, { type RouteOptions } from 'fastify'
import t from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { startTestQueue, TEST_CREDENTIALS } from '@labclimate/testkit/sqs'
import app, { serverOptions } from '../src/app.ts'
import { PAGE_CSP } from '../src/plugins/page-security.ts'

interface Operation { security?: Array<Record<string, string[]>>, responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }
interface OpenApi {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { securitySchemes: Record<string, { type: string, scheme?: string }>, schemas: Record<string, { required?: string[] }> }
}

/** Fastify's `/labs/:labId` written the OpenAPI way: `/labs/{labId}`. */
const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

t.test('the app, with every route it registers recorded', async (t) => {
  const database = await createTestDatabase(t)
  const queue = await startTestQueue(t)
  const server = Fastify({ ...serverOptions({ requestTimeoutMs: 30_000 }), logger: false })
  t.teardown(() => server.close())
  const routes: RouteOptions[] = []
  server.addHook('onRoute', (route) => { routes.push(route) })
  await server.register(app, {
    databaseUrl: database.url,
    dbPoolSize: 2,
    sqs: { queueUrl: queue.queueUrl, region: queue.region, endpoint: queue.endpoint, credentials: TEST_CREDENTIALS },
    ingestLingerMs: 2,
    authCacheSeconds: 30,
    authCacheKeys: 100_000,
    authFailuresPerMinute: 1000,
    dbOutageStaleSeconds: 300,
    rateLimitPerMinute: 100_000
  })
  await server.ready()

  const answer = await server.inject('/openapi.json')
  t.equal(answer.statusCode, 200, '/openapi.json needs no key')
  t.match(answer.headers['content-type'], /^application\/json/)
  t.match(answer.headers['content-security-policy'], /default-src 'none'/, 'JSON keeps the strict policy')
  t.not(answer.headers['content-security-policy'], PAGE_CSP)
  const doc = answer.json<OpenApi>()

  t.match(doc.openapi, /^3\./, 'OpenAPI 3')
  t.match(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' }, 'the bearer scheme is declared')
  t.ok(doc.components.schemas.ProblemDetails?.required?.includes('detail'), 'ProblemDetails is a component')

  // Every documented API route (not HEAD, not the hidden page and asset routes) is in the document
  // with its method, its security from config.auth, and problem+json for its 4xx answers.
  const apiRoutes = routes.filter((r) => (r.schema as { hide?: boolean } | undefined)?.hide !== true && r.method !== 'HEAD' && !r.url.startsWith('/docs'))
  t.ok(apiRoutes.length >= 11, `the app has its routes (${apiRoutes.length})`)
  let operations = 0
  for (const route of apiRoutes) {
    for (const method of [route.method].flat()) {
      const operation = doc.paths[openApiPath(route.url)]?.[method.toLowerCase()]
      if (operation === undefined) { t.fail(`${method} ${route.url} is missing from the document`); continue }
      operations++
      const access = route.config?.auth ?? 'admin'
      t.same(operation.security, access === 'public' ? [] : [{ bearer: [] }], `${method} ${route.url}: security follows auth ${access}`)
      t.equal((operation as { 'x-labclimate-access'?: string })['x-labclimate-access'], access, `${method} ${route.url}: x-labclimate-access`)
      if (route.url !== '/health/live') {
        const problemSchema = operation.responses['4XX']?.content?.['application/problem+json']?.schema?.$ref
        t.equal(problemSchema, '#/components/schemas/ProblemDetails', `${method} ${route.url}: 4xx is problem+json`)
      }
    }
  }
  const documented = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0)
  t.equal(documented, operations, 'the document has no operation the app does not route')
  const samples = [
    ['get', '/labs', 'bearer'],
    ['post', '/labs/upload', 'bearer'],
    ['get', '/health/ready', 'none'],
    ['delete', '/keys/{keyId}', 'bearer']
  ] as const
  for (const [method, url, security] of samples) {
    t.ok(doc.paths[url]?.[method] !== undefined, `${method} ${url} is documented`)
    t.equal(doc.paths[url]?.[method]?.security?.length, security === 'none' ? 0 : 1)
  }
  t.notOk(doc.paths['/openapi.json'], 'the document does not list itself')

  // Swagger UI: the page and every asset it links load without a key, under the page policy.
  const page = await server.inject('/docs')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.equal(page.headers['content-security-policy'], PAGE_CSP)
  t.match(PAGE_CSP, /script-src 'self'(;|$)/, 'scripts from the API only')
  const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string)
  t.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), `the page links scripts and styles (${assets.join(', ')})`)
  t.notOk(/<script>(?!\s*<\/script>)/.test(page.body), 'no inline script (CSP would block it)')
  for (const asset of assets) {
    const url = new URL(asset, 'http://localhost/docs/').pathname
    const loaded = await server.inject(url)
    t.equal(loaded.statusCode, 200, `${url} loads`)
    t.equal(loaded.headers['content-security-policy'], PAGE_CSP, `${url} has the page policy`)
  }
  const initializer = await server.inject('/docs/static/swagger-initializer.js')
  t.equal(initializer.statusCode, 200)
  const uiDoc = await server.inject('/docs/json')
  t.equal(uiDoc.statusCode, 200, 'the document Swagger UI loads')
  t.same(uiDoc.json<OpenApi>().paths['/labs'] !== undefined, true)

  // Elsewhere the strict policy stays.
  const labs = await server.inject('/labs')
  t.equal(labs.statusCode, 401, 'API routes still need a key')
  t.match(labs.headers['content-security-policy'], /default-src 'none'/)
  t.not(labs.headers['content-security-policy'], PAGE_CSP)
})
