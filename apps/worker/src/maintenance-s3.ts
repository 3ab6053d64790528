import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand,
  HeadObjectCommand, PutObjectCommand, S3Client, UploadPartCommand, type CompletedPart
} from '@aws-sdk/client-s3'
import type { ArchiveStore } from '@labclimate/store'

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
 * An S3 bucket as archive store. A day object streams up in parts (a fleet day is
 * ~1 GB gzipped; memory holds one part), so an upload either completes whole or is
 * aborted and never becomes visible. The SDK sends a CRC32 checksum with every part
 * and object by default, which S3 verifies on receipt. Encryption and the storage-class
 * lifecycle are bucket settings (the infrastructure stack), not per request.
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

  async putStream (key: string, body: AsyncIterable<Uint8Array>, options: { contentType: string, contentEncoding?: string, sha256: () => string }): Promise<void> {
    const Key = this.prefix + key
    const headers = { ContentType: options.contentType, ...(options.contentEncoding === undefined ? {} : { ContentEncoding: options.contentEncoding }) }
    let pending: Buffer[] = []
    let pendingBytes = 0
    let uploadId: string | undefined
    const parts: CompletedPart[] = []
    const take = (): Buffer => { const b = Buffer.concat(pending, pendingBytes); pending = []; pendingBytes = 0; return b }
    try {
      for await (const chunk of body) {
        pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)); pendingBytes += chunk.byteLength
        if (pendingBytes >= this.partSize) {
          uploadId ??= (await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ...headers }))).UploadId
          const PartNumber = parts.length + 1
          const { ETag } = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber, Body: take() }))
          parts.push({ ETag, PartNumber })
        }
      }
      if (uploadId === undefined) {
        // Small enough for one request; the whole digest is known now.
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: take(), ...headers, Metadata: { sha256: options.sha256() } }))
        return
      }
      if (pendingBytes > 0) {
        const PartNumber = parts.length + 1
        const { ETag } = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber, Body: take() }))
        parts.push({ ETag, PartNumber })
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }))
    } catch (error) {
      if (uploadId !== undefined) {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId })).catch(() => {})
      }
      throw error
    }
  }

  async putJson (key: string, value: unknown): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: `${JSON.stringify(value, null, 2)}\n`, ContentType: 'application/json' }))
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
