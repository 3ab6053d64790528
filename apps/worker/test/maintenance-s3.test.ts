// The S3 archive store's failure path (fauxqs): a multipart upload that fails is aborted, leaves no object, and
// closes its source; the happy path is covered by maintenance.test.ts.
import { randomBytes } from 'node:crypto'
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { startFauxqs } from 'fauxqs'
import t, { type Test } from 'tap'
import { createS3Client, S3ArchiveStore } from '../src/maintenance-s3.ts'

const MiB = 1024 * 1024

async function s3 (t: Test): Promise<{ client: S3Client, store: S3ArchiveStore, sent: string[], failOn: (command: string, nth: number) => void }> {
  const server = await startFauxqs({ port: 0, logger: false })
  server.createBucket('archive')
  const client = createS3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${server.port}`, credentials: { accessKeyId: 't', secretAccessKey: 't' } })
  t.teardown(async () => { client.destroy(); await server.stop() })
  const sent: string[] = []
  let failure: { command: string, nth: number } | undefined
  client.middlewareStack.add((next, context) => async (args) => {
    const command = context.commandName ?? '?'
    sent.push(command)
    if (failure?.command === command && sent.filter((c) => c === command).length === failure.nth) throw new Error(`injected ${command} failure`)
    return await next(args)
  }, { step: 'initialize', name: 'recordCommands' })
  const store = new S3ArchiveStore({ client, bucket: 'archive', prefix: 'test/', partSize: 5 * MiB })
  return { client, store, sent, failOn: (command, nth) => { failure = { command, nth } } }
}

t.test('a source that fails after two parts: the upload is aborted and no object appears', async (t) => {
  const { store, sent } = await s3(t)
  let closed = false
  async function * chunks (): AsyncGenerator<Uint8Array> {
    try {
      for (let i = 0; i < 12; i++) yield randomBytes(MiB)
      throw new Error('the database went away')
    } finally {
      closed = true
    }
  }
  await t.rejects(store.putStream('broken.bin', chunks(), { contentType: 'application/octet-stream', sha256: () => 'x' }), /the database went away/)
  t.ok(sent.includes('CreateMultipartUploadCommand'), 'it was a multipart upload')
  t.ok(sent.includes('AbortMultipartUploadCommand'), 'and it was aborted')
  t.notOk(sent.includes('CompleteMultipartUploadCommand'), 'never completed')
  t.ok(closed, 'the source was closed')
  t.equal(await store.size('broken.bin'), undefined, 'no object is visible')
})

t.test('a part that fails: the upload is aborted, the source closed, and the error is the part\'s', async (t) => {
  const { store, sent, failOn } = await s3(t)
  failOn('UploadPartCommand', 2)
  let closed = false
  async function * chunks (): AsyncGenerator<Uint8Array> {
    try {
      for (let i = 0; i < 20; i++) yield randomBytes(MiB)
    } finally {
      closed = true
    }
  }
  await t.rejects(store.putStream('part.bin', chunks(), { contentType: 'application/octet-stream', sha256: () => 'x' }), /injected UploadPartCommand failure/)
  t.ok(sent.includes('AbortMultipartUploadCommand'), 'aborted')
  t.notOk(sent.includes('CompleteMultipartUploadCommand'), 'never completed')
  t.ok(closed, 'the source was closed, not left half read')
  t.equal(await store.size('part.bin'), undefined, 'no object is visible')
})

t.test('a small object goes up in one request with its digest; a part-sized one as a multipart upload', async (t) => {
  const { client, store, sent } = await s3(t)
  async function * once (bytes: number): AsyncGenerator<Uint8Array> { yield randomBytes(bytes) }
  await store.putStream('small.bin', once(1000), { contentType: 'application/octet-stream', sha256: () => 'abc' })
  t.same(sent.splice(0), ['PutObjectCommand'])
  t.equal(await store.size('small.bin'), 1000)
  const head = await client.send(new HeadObjectCommand({ Bucket: 'archive', Key: 'test/small.bin' }))
  t.same(head.Metadata, { sha256: 'abc' }, 'with the digest as metadata')
  async function * twoChunks (): AsyncGenerator<Uint8Array> { yield * once(3 * MiB); yield * once(3 * MiB) }
  await store.putStream('big.bin', twoChunks(), { contentType: 'application/octet-stream', sha256: () => 'abc' })
  t.same(sent.filter((c) => c !== 'HeadObjectCommand'),
    ['CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand'])
  t.equal(await store.size('big.bin'), 6 * MiB)
})
