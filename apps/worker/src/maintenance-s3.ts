import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import type { ArchiveStore } from '@labclimate/store'
import { Readable } from 'node:stream'

export interface S3ArchiveOptions {
  client: S3Client
  bucket: string
  /** prepended to every key, e.g. "prod/" */
  prefix?: string
  /** multipart part size; S3 needs at least 5 MiB for every part but the last */
  partSize?: number
}

const notFound = (error: unknown): boolean => {
  const e = error as { name?: string, $metadata?: { httpStatusCode?: number } }
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404
}

/**
 * An S3 bucket as archive store. A day object (a fleet day is ~1 GB gzipped) streams up as a multipart upload, one
 * part in memory, aborted on failure so it never becomes visible half written. The SDK sends and S3 verifies CRC32
 * checksums by default. Encryption and the storage-class lifecycle are bucket settings, not per request.
 */
export class S3ArchiveStore implements ArchiveStore {
  readonly location: string
  private readonly client: S3Client
  private readonly bucket: string
  private readonly prefix: string
  private readonly partSize: number

  constructor ({ client, bucket, prefix = '', partSize = 16 * 1024 * 1024 }: S3ArchiveOptions) {
    this.client = client
    this.bucket = bucket
    this.prefix = prefix
    this.partSize = Math.max(partSize, 5 * 1024 * 1024)
    this.location = `s3://${bucket}/${prefix}`
  }

  async putStream (
    key: string,
    body: AsyncIterable<Uint8Array>,
    options: { contentType: string, contentEncoding?: string, sha256: () => string }
  ): Promise<void> {
    const params = {
      Bucket: this.bucket,
      Key: this.prefix + key,
      ContentType: options.contentType,
      ...(options.contentEncoding === undefined ? {} : { ContentEncoding: options.contentEncoding })
    }
    // Up to one part is read first: an object that fits goes up in one request, its whole digest known by then.
    const source = body[Symbol.asyncIterator]()
    const first: Buffer[] = []
    let firstBytes = 0
    let next = await source.next()
    while (next.done !== true && firstBytes < this.partSize) {
      first.push(Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength))
      firstBytes += next.value.byteLength
      if (firstBytes < this.partSize) next = await source.next()
    }
    if (next.done === true) {
      await this.client.send(new PutObjectCommand({ ...params, Body: Buffer.concat(first, firstBytes), Metadata: { sha256: options.sha256() } }))
      return
    }
    async function * rest (): AsyncGenerator<Uint8Array> {
      try {
        yield * first
        for (let more = await source.next(); more.done !== true; more = await source.next()) yield more.value
      } finally {
        // Also when the upload gave up early: the source (a database stream) must be closed, not left half read.
        await source.return?.()
      }
    }
    const stream = Readable.from(rest())
    // The upload reports any failure itself; an error while closing the source afterwards must not crash the task.
    stream.on('error', () => {})
    // queueSize 1: one part in memory. leavePartsOnError false: a failed part, source or completion aborts the
    // multipart upload before done() rejects, so nothing half written becomes visible.
    const upload = new Upload({
      client: this.client, params: { ...params, Body: stream }, partSize: this.partSize, queueSize: 1, leavePartsOnError: false
    })
    try {
      await upload.done()
    } finally {
      stream.destroy()
    }
  }

  async putJson (key: string, value: unknown): Promise<void> {
    await this.client.send(new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.prefix + key,
      Body: `${JSON.stringify(value, null, 2)}\n`,
      ContentType: 'application/json'
    }))
  }

  async getJson (key: string): Promise<unknown> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))
      return JSON.parse(await (out.Body as { transformToString: () => Promise<string> }).transformToString())
    } catch (error) {
      if (notFound(error)) return undefined
      throw error
    }
  }

  async size (key: string): Promise<number | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))
      return out.ContentLength
    } catch (error) {
      if (notFound(error)) return undefined
      throw error
    }
  }
}

export function createS3Client (settings: { region: string, endpoint?: string, credentials?: { accessKeyId: string, secretAccessKey: string } }): S3Client {
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint, forcePathStyle: true }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials })
  })
}
