// An HTTP proxy that records every request it passes on: what a client really sent, read off the wire,
// as the expected values of a test (rather than recomputed with the client's own code).
import { createServer, type Server } from 'node:http'
import { gunzipSync } from 'node:zlib'

/** `body` is the text sent, decoded when it came gzipped (`contentEncoding` says so); the bytes are passed on as they came. */
export interface RecordedRequest { method: string, path: string, body: string, status: number, contentEncoding?: string }

export interface RecordingProxy {
  url: string
  requests: RecordedRequest[]
  close: () => Promise<void>
}

export async function startRecordingProxy (target: string): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = []
  const server: Server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const body = Buffer.concat(chunks)
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v
      const method = req.method ?? 'GET'
      const upstream = await fetch(`${target}${req.url ?? '/'}`, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body })
      const answer = Buffer.from(await upstream.arrayBuffer())
      const coding = req.headers['content-encoding']
      const text = coding === 'gzip' ? gunzipSync(body).toString() : body.toString()
      requests.push({ method, path: req.url ?? '/', body: text, status: upstream.status, ...(coding === undefined ? {} : { contentEncoding: coding }) })
      const out: Record<string, string> = {}
      upstream.headers.forEach((v, k) => { if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) out[k] = v })
      res.writeHead(upstream.status, out)
      res.end(answer)
    })().catch((error: unknown) => { res.writeHead(502); res.end(String(error)) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`,
    requests,
    close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}
