// Generates the Postman collection (postman/labclimate.postman_collection.json) and a localhost environment
// (postman/localhost.postman_environment.json) from the API's OpenAPI document. Every operation in the document
// becomes a request, in the order of SCENARIO (a run that creates a lab and a device key, posts readings,
// waits for the worker to store them and checks the averages), with tests that check real values.
//
//   pnpm exec node scripts/postman.ts                              # from the app built in-process (a fresh test
//                                                                  # database on the tests' MariaDB + in-process SQS)
//   pnpm exec node scripts/postman.ts --url http://localhost:3000  # from a running API's /openapi.json
//   pnpm exec node scripts/postman.ts --check                      # fail if the committed files are stale
import { createHash } from 'node:crypto'
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

export const COLLECTION_FILE = 'postman/labclimate.postman_collection.json'
export const ENVIRONMENT_FILE = 'postman/localhost.postman_environment.json'

type Access = 'public' | 'read' | 'device' | 'admin'
interface Operation {
  summary?: string
  description?: string
  tags?: string[]
  'x-labclimate-access'?: Access
  parameters?: Array<{ in: string, name: string }>
}
export interface OpenApiDocument { info: { title: string, version: string, description?: string }, paths: Record<string, Record<string, Operation>> }

interface Step {
  /** request body (JSON, may hold {{variables}}) */
  body?: string
  query?: Array<[string, string]>
  prerequest?: string[]
  test: string[]
}

const KEY_VARIABLE: Record<Exclude<Access, 'public'>, string> = { admin: 'adminKey', read: 'readKey', device: 'deviceKey' }
const PATH_VARIABLE: Record<string, string> = { labId: 'labId', keyId: 'deviceKeyId' }

/**
 * The run, in order, keyed "METHOD /path" as in the OpenAPI document. Readings: 20.5, 21.5, 22.5 °C and
 * 40, 45, 50 %RH on the lab route and 70.7 °F (21.5 °C), 45 % on the legacy route: the averages are 21.5 °C and 45 %RH.
 */
const SCENARIO: Array<[string, Step]> = [
  ['GET /', {
    test: [
      "pm.test('200 and the service says hello', () => {",
      '  pm.response.to.have.status(200)',
      '  const body = pm.response.json()',
      '  pm.expect(body.status).to.equal(true)',
      "  pm.expect(body.service).to.equal('labclimate')",
      '  pm.expect(body.version).to.match(/^\\d+\\.\\d+\\.\\d+/)',
      '})'
    ]
  }],
  ['GET /health/live', { test: ["pm.test('live', () => { pm.response.to.have.status(200); pm.expect(pm.response.json().status).to.equal('ok') })"] }],
  ['GET /health/ready', {
    test: ["pm.test('ready: database and queue answer', () => { pm.response.to.have.status(200); " +
      "pm.expect(pm.response.json().status).to.equal('ok') })"]
  }],
  ['POST /labs', {
    prerequest: ["pm.environment.set('labName', 'Postman lab ' + Date.now())"],
    body: '{\n  "name": "{{labName}}",\n  "address": "Postman, room 1"\n}',
    test: [
      "pm.test('201 with the lab as sent', () => {",
      '  pm.response.to.have.status(201)',
      '  const lab = pm.response.json()',
      "  pm.expect(lab.name).to.equal(pm.environment.get('labName'))",
      "  pm.expect(lab.address).to.equal('Postman, room 1')",
      '  pm.expect(lab.id).to.be.a(\'number\').and.above(0)',
      "  pm.expect(pm.response.headers.get('location')).to.equal('/labs/' + lab.id)",
      "  pm.environment.set('labId', String(lab.id))",
      '})'
    ]
  }],
  ['POST /keys', {
    body: '{\n  "role": "device",\n  "lab_id": {{labId}},\n  "label": "Postman device"\n}',
    test: [
      "pm.test('201 with a device key for the lab', () => {",
      '  pm.response.to.have.status(201)',
      '  const key = pm.response.json()',
      "  pm.expect(key.role).to.equal('device')",
      "  pm.expect(key.lab_id).to.equal(Number(pm.environment.get('labId')))",
      '  pm.expect(key.key).to.match(/^lc_/)',
      '  pm.expect(key.key.startsWith(key.prefix)).to.equal(true)',
      '  pm.expect(key.revoked_at).to.equal(null)',
      "  pm.environment.set('deviceKey', key.key)",
      "  pm.environment.set('deviceKeyId', String(key.id))",
      '})'
    ]
  }],
  ['GET /keys', {
    test: [
      "pm.test('the new key is listed, live, without the key itself', () => {",
      '  pm.response.to.have.status(200)',
      "  const mine = pm.response.json().find((k) => k.id === Number(pm.environment.get('deviceKeyId')))",
      '  pm.expect(mine).to.be.an(\'object\')',
      "  pm.expect(mine.lab_id).to.equal(Number(pm.environment.get('labId')))",
      '  pm.expect(mine.revoked_at).to.equal(null)',
      "  pm.expect(mine).to.not.have.property('key')",
      '})'
    ]
  }],
  ['POST /labs/{labId}/readings', {
    prerequest: [
      '// Three readings 30 s apart ending a minute ago.',
      'const last = Math.floor(Date.now() / 30000) * 30000 - 60000',
      "pm.environment.set('t1', new Date(last - 60000).toISOString())",
      "pm.environment.set('t2', new Date(last - 30000).toISOString())",
      "pm.environment.set('t3', new Date(last).toISOString())"
    ],
    body: '[\n  { "timestamp": "{{t1}}", "temperature": 20.5, "humidity": 40 },\n' +
      '  { "timestamp": "{{t2}}", "temperature": "21.5°C", "humidity": "45%" },\n' +
      '  { "timestamp": "{{t3}}", "temperature": 22.5, "humidity": 50 }\n]',
    test: [
      "pm.test('202: all three accepted', () => {",
      '  pm.response.to.have.status(202)',
      '  const body = pm.response.json()',
      '  pm.expect(body.status).to.equal(true)',
      '  pm.expect(body.accepted).to.equal(3)',
      '  pm.expect(body.rejected).to.eql([])',
      '})'
    ]
  }],
  ['POST /labs/upload', {
    prerequest: ["pm.environment.set('t0', new Date(Math.floor(Date.now() / 30000) * 30000 - 150000).toISOString())"],
    body: '[\n  { "lab_id": {{labId}}, "timestamp": "{{t0}}", "temperature": "70.7°F", "humidity": "45%" },\n' +
      '  { "lab_id": {{labId}}, "timestamp": "{{t0}}", "temperature": "999°C", "humidity": "45%" }\n]',
    test: [
      "pm.test('202: the legacy route takes the good reading and refuses the bad one by index', () => {",
      '  pm.response.to.have.status(202)',
      '  const body = pm.response.json()',
      '  pm.expect(body.accepted).to.equal(1)',
      '  pm.expect(body.rejected.length).to.equal(1)',
      '  pm.expect(body.rejected[0].index).to.equal(1)',
      '})'
    ]
  }],
  ['GET /labs/{labId}', {
    test: [
      '// The worker stores readings within seconds: ask again (up to 30 times, 500 ms apart) until all 4 are in.',
      'const body = pm.response.json()',
      "const tries = Number(pm.environment.get('tries') || 0)",
      'if ((body.averages === null || body.averages.readings < 4) && tries < 30) {',
      "  pm.environment.set('tries', String(tries + 1))",
      '  postman.setNextRequest(pm.info.requestName)',
      '  setTimeout(() => {}, 500)',
      '} else {',
      "  pm.environment.unset('tries')",
      "  pm.test('the lab with the averages of what was posted', () => {",
      '    pm.response.to.have.status(200)',
      "    pm.expect(body.id).to.equal(Number(pm.environment.get('labId')))",
      "    pm.expect(body.name).to.equal(pm.environment.get('labName'))",
      '    pm.expect(body.averages.readings).to.equal(4)',
      '    pm.expect(body.averages.avg_temperature_c).to.equal(21.5)',
      '    pm.expect(body.averages.avg_humidity_pct).to.equal(45)',
      "    pm.expect(body.averages.avg_temp).to.equal('21.50°C')",
      "    pm.expect(body.averages.avg_humidity).to.equal('45.00%')",
      '  })',
      '}'
    ]
  }],
  ['GET /labs', {
    test: [
      "pm.test('the lab is among the 24 h averages', () => {",
      '  pm.response.to.have.status(200)',
      "  const mine = pm.response.json().find((l) => l.lab_id === Number(pm.environment.get('labId')))",
      '  pm.expect(mine.readings).to.equal(4)',
      '  pm.expect(mine.avg_temperature_c).to.equal(21.5)',
      '  pm.expect(mine.avg_humidity_pct).to.equal(45)',
      '})'
    ]
  }],
  ['GET /labs/{labId}/readings', {
    query: [['resolution', 'minute']],
    test: [
      "pm.test('the minute series holds the 4 readings with their mean', () => {",
      '  pm.response.to.have.status(200)',
      '  const body = pm.response.json()',
      "  pm.expect(body.resolution).to.equal('minute')",
      '  const n = body.points.reduce((a, p) => a + p.count, 0)',
      '  pm.expect(n).to.equal(4)',
      '  const mean = body.points.reduce((a, p) => a + p.avg_temperature_c * p.count, 0) / n',
      '  pm.expect(Math.round(mean * 1000) / 1000).to.equal(21.5)',
      '  pm.expect(Math.max(...body.points.map((p) => p.max_temperature_c))).to.equal(22.5)',
      '  pm.expect(Math.min(...body.points.map((p) => p.min_humidity_pct))).to.equal(40)',
      '})'
    ]
  }],
  ['DELETE /keys/{keyId}', { test: ["pm.test('204: the device key is revoked', () => { pm.response.to.have.status(204) })"] }]
]

const stableId = (text: string): string => {
  const h = createHash('sha256').update(text).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const script = (listen: 'test' | 'prerequest', exec: string[]): object => ({ listen, script: { type: 'text/javascript', exec } })

/** The Postman collection (v2.1) and the localhost environment for an OpenAPI document. */
export function toPostman (doc: OpenApiDocument): { collection: { info: object, item: unknown[] }, environment: object } {
  const operations = Object.entries(doc.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op })))
  const order = new Map(SCENARIO.map(([key], i) => [key, i]))
  // Operations the scenario does not know yet still get a request (after the others) with a status test.
  operations.sort((a, b) => (order.get(a.key) ?? 1e6) - (order.get(b.key) ?? 1e6) || a.key.localeCompare(b.key))
  const steps = new Map(SCENARIO)

  const item = operations.map(({ key, method, path, op }) => {
    const step = steps.get(key) ?? { test: ["pm.test('answers 2xx', () => { pm.expect(pm.response.code).to.be.within(200, 299) })"] }
    const access = op['x-labclimate-access'] ?? 'admin'
    const segments = path.split('/').filter((s) => s !== '').map((s) => s.replace(/^\{(\w+)\}$/, (_m, name: string) => `{{${PATH_VARIABLE[name] ?? name}}}`))
    const query = (step.query ?? []).map(([k, v]) => ({ key: k, value: v }))
    const raw = `{{baseUrl}}/${segments.join('/')}${query.length === 0 ? '' : `?${query.map((q) => `${q.key}=${q.value}`).join('&')}`}`
    return {
      name: `${op.summary ?? key} (${key})`,
      event: [...(step.prerequest === undefined ? [] : [script('prerequest', step.prerequest)]), script('test', step.test)],
      request: {
        method,
        description: [op.description, access === 'public' ? 'No key needed.' : `Sent with {{${KEY_VARIABLE[access]}}}.`].filter(Boolean).join('\n\n'),
        auth: access === 'public' ? { type: 'noauth' } : { type: 'bearer', bearer: [{ key: 'token', value: `{{${KEY_VARIABLE[access]}}}`, type: 'string' }] },
        header: step.body === undefined ? [] : [{ key: 'Content-Type', value: 'application/json' }],
        ...(step.body === undefined ? {} : { body: { mode: 'raw', raw: step.body, options: { raw: { language: 'json' } } } }),
        url: { raw, host: ['{{baseUrl}}'], path: segments, ...(query.length === 0 ? {} : { query }) }
      }
    }
  })

  const collection = {
    info: {
      _postman_id: stableId(`${doc.info.title} collection`),
      name: `${doc.info.title} ${doc.info.version}`,
      description: `${doc.info.description ?? ''}\n\nGenerated from /openapi.json by scripts/postman.ts; do not edit by hand. ` +
        'Run it in order (it creates a lab and a device key, posts readings, waits for the worker and checks the averages). ' +
        'Set adminKey and readKey in the environment.',
      schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json'
    },
    item
  }
  const environment = {
    id: stableId(`${doc.info.title} localhost environment`),
    name: 'labclimate localhost',
    values: [
      { key: 'baseUrl', value: 'http://localhost:3000', type: 'default', enabled: true },
      { key: 'adminKey', value: '', type: 'secret', enabled: true },
      { key: 'readKey', value: '', type: 'secret', enabled: true },
      { key: 'labId', value: '', type: 'default', enabled: true },
      { key: 'deviceKey', value: '', type: 'secret', enabled: true },
      { key: 'deviceKeyId', value: '', type: 'default', enabled: true }
    ],
    _postman_variable_scope: 'environment'
  }
  return { collection, environment }
}

export const render = (value: object): string => `${JSON.stringify(value, null, 2)}\n`

async function openApiFromOwnApp (): Promise<{ doc: OpenApiDocument, close: () => Promise<void> }> {
  const [{ default: app, serverOptions }, { testAppBuilder }] = await Promise.all([import('@labclimate/api'), import('@labclimate/testkit/app')])
  const buildTestApp = testAppBuilder({ app, serverOptions })
  const cleanups: Array<() => Promise<void> | void> = []
  const api = await buildTestApp({ teardown: (fn) => { cleanups.unshift(fn) } })
  const doc = (await api.app.inject('/openapi.json')).json<OpenApiDocument>()
  return { doc, close: async () => { for (const c of cleanups) await c() } }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { url: { type: 'string' }, check: { type: 'boolean' } } })
  const root = new URL('../', import.meta.url).pathname
  let doc: OpenApiDocument
  if (values.url !== undefined) {
    doc = await (await fetch(`${values.url.replace(/\/+$/, '')}/openapi.json`)).json() as OpenApiDocument
  } else {
    const own = await openApiFromOwnApp()
    doc = own.doc
    await own.close()
  }
  const { collection, environment } = toPostman(doc)
  const files: Array<[string, string]> = [[COLLECTION_FILE, render(collection)], [ENVIRONMENT_FILE, render(environment)]]
  if (values.check === true) {
    const stale = []
    for (const [file, text] of files) if (await readFile(join(root, file), 'utf8').catch(() => '') !== text) stale.push(file)
    if (stale.length > 0) {
      console.error(`stale: ${stale.join(', ')}; run pnpm exec node scripts/postman.ts and commit`)
      process.exitCode = 1
    } else console.log('postman files are up to date')
  } else {
    await mkdir(join(root, 'postman'), { recursive: true })
    for (const [file, text] of files) await writeFile(join(root, file), text)
    console.log(`wrote ${files.map(([f]) => f).join(' and ')} (${collection.item.length} requests)`)
  }
}
