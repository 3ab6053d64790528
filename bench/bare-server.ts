// The baselines: bare Fastify on this machine, in its own process like the API.
//   GET  /            hello world
//   POST /ingest      parses the JSON body and answers 202 (baseline of figures 1 and 2: a day batch, one reading)
// PORT and HOST from the environment; prints "listening" when ready.
import Fastify from 'fastify'

const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 })
app.get('/', async () => ({ hello: 'world' }))
app.post('/ingest', async (request, reply) => {
  const body = request.body as unknown[]
  reply.code(202)
  return { status: true, accepted: Array.isArray(body) ? body.length : 1 }
})
await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' })
console.log('listening')
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => { void app.close().then(() => process.exit(0)) })
