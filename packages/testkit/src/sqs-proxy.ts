// A thin proxy in front of the real SQS server (fauxqs), speaking its JSON protocol: lets a test see which
// messages one client received, and make the server's answers fail the way real SQS can (some entries of a
// SendMessageBatch in `Failed`), without a fake SQS.
import { createServer, type IncomingMessage, type Server } from 'node:http'

export interface SqsCall {
  /** The operation, e.g. "ReceiveMessage" (from X-Amz-Target). */
  action: string
  request: Record<string, unknown>
  response: Record<string, unknown>
}

export interface SqsProxy {
  endpoint: string
  calls: SqsCall[]
  /** Message ids this client was handed by ReceiveMessage. */
  received: () => string[]
  /** Message ids this client received and has not asked to delete: its messages in flight. */
  held: () => string[]
  close: () => Promise<void>
}

export interface SqsProxyOptions {
  /** Entries of a SendMessageBatch to leave out and answer as failed (by their position in the batch). */
  failBatchEntry?: (entry: { Id: string }, index: number) => boolean
  /** Answers a call itself, without passing it on, when this returns an answer (e.g. a delete that is "lost"). */
  answer?: (action: string, request: Record<string, unknown>) => Record<string, unknown> | undefined
}

async function body (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString()
}

export async function startSqsProxy (target: string, options: SqsProxyOptions = {}): Promise<SqsProxy> {
  const calls: SqsCall[] = []
  /** Receipt handles the client has asked to delete (answered or not). */
  const deleting = new Set<string>()
  const server: Server = createServer((req, res) => {
    void (async () => {
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '')
      const text = await body(req)
      let request: Record<string, unknown> = {}
      try { request = JSON.parse(text) as Record<string, unknown> } catch { /* not JSON: passed on as is */ }
      // A delete counts from the moment it is asked for: the server may have done it before its answer comes back.
      if (action === 'DeleteMessage') deleting.add(String(request.ReceiptHandle))
      if (action === 'DeleteMessageBatch') {
        for (const e of (request.Entries as Array<{ ReceiptHandle: string }> | undefined) ?? []) deleting.add(e.ReceiptHandle)
      }
      const failed: Array<{ Id: string }> = []
      let forwarded = text
      if (action === 'SendMessageBatch' && options.failBatchEntry !== undefined && Array.isArray(request.Entries)) {
        const entries = request.Entries as Array<{ Id: string }>
        const keep = entries.filter((e, i) => { const fail = options.failBatchEntry?.(e, i) ?? false; if (fail) failed.push(e); return !fail })
        forwarded = JSON.stringify({ ...request, Entries: keep })
      }
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v
      // Every entry failed: SQS answers 200 with nothing in Successful (an empty batch would be a different error).
      const allFailed = failed.length > 0 && (request.Entries as unknown[]).length === failed.length
      const own = allFailed ? { Successful: [] } : options.answer?.(action, request)
      const upstream = own !== undefined
        ? new Response(JSON.stringify(own), { status: 200, headers: { 'content-type': 'application/x-amz-json-1.0' } })
        : await fetch(`${target}${req.url ?? '/'}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : forwarded })
      let answer = await upstream.text()
      let response: Record<string, unknown> = {}
      try { response = JSON.parse(answer) as Record<string, unknown> } catch { /* passed on as is */ }
      if (failed.length > 0 && upstream.ok) {
        const ours = failed.map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'failed by the test proxy' }))
        response = { ...response, Failed: [...((response.Failed as unknown[] | undefined) ?? []), ...ours] }
        answer = JSON.stringify(response)
      }
      calls.push({ action, request, response })
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/x-amz-json-1.0' })
      res.end(answer)
    })().catch((error: unknown) => { res.writeHead(500); res.end(String(error)) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    received: () => calls.filter((c) => c.action === 'ReceiveMessage')
      .flatMap((c) => ((c.response.Messages as Array<{ MessageId: string }> | undefined) ?? []).map((m) => m.MessageId)),
    held: () => calls.filter((c) => c.action === 'ReceiveMessage')
      .flatMap((c) => (c.response.Messages as Array<{ MessageId: string, ReceiptHandle: string }> | undefined) ?? [])
      .filter((m) => !deleting.has(m.ReceiptHandle)).map((m) => m.MessageId),
    close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}
