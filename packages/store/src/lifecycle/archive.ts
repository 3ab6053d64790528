import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { createWriteStream } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { createGzip } from 'node:zlib'
import { DAY_MS } from '@labclimate/config'
import { dayKey } from './retention.ts'

// Archive of expired raw days: one gzip NDJSON object per UTC day, then a manifest written last; a day counts as
// archived only when its manifest matches the object and the database's count (docs/data-lifecycle.md, "Archive").

export const ARCHIVE_FORMAT = 'labclimate.readings.ndjson.gz'
export const ARCHIVE_FORMAT_VERSION = 1

export interface RawRow {
  lab_id: number
  recorded_at_ms: number
  temperature_milli_c: number
  humidity_milli_pct: number
}

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT
  format_version: number
  table: 'readings'
  day: string
  from_ms: number
  to_ms: number
  object: string
  content_type: 'application/x-ndjson'
  content_encoding: 'gzip'
  rows: number
  bytes: number
  sha256: string
  order: string[]
  columns: Array<{ name: string, type: string, meaning: string }>
  created_at: string
}

const COLUMNS: ArchiveManifest['columns'] = [
  { name: 'lab_id', type: 'int32', meaning: 'lab id' },
  { name: 'recorded_at_ms', type: 'int64', meaning: 'reading time, UTC epoch milliseconds' },
  { name: 'temperature_milli_c', type: 'int32', meaning: 'temperature in thousandths of a degree Celsius' },
  { name: 'humidity_milli_pct', type: 'int32', meaning: 'relative humidity in thousandths of a percent' }
]

/** Where archives go: an S3 bucket in AWS, a folder locally. Writes must be all-or-nothing per key. */
export interface ArchiveStore {
  /** for logs: s3://bucket/prefix, file:///dir */
  readonly location: string
  /** Stores the bytes of `body` under `key`; resolves only once they are durably stored. */
  putStream: (key: string, body: AsyncIterable<Uint8Array>, options: { contentType: string, contentEncoding?: string, sha256: () => string }) => Promise<void>
  putJson: (key: string, value: unknown) => Promise<void>
  /** undefined when there is no such object */
  getJson: (key: string) => Promise<unknown>
  /** size in bytes, undefined when there is no such object */
  size: (key: string) => Promise<number | undefined>
}

export function archiveKeys (dayStartMs: number): { object: string, manifest: string } {
  const day = dayKey(dayStartMs)
  const [y, m, d] = day.split('-')
  const prefix = `readings/year=${y}/month=${m}/day=${d}/readings-${day}`
  return { object: `${prefix}.ndjson.gz`, manifest: `${prefix}.manifest.json` }
}

/** Writes one day's rows (already ordered by the caller) as gzip NDJSON, then its manifest. */
export async function writeDayArchive (store: ArchiveStore, dayStartMs: number, rows: AsyncIterable<RawRow>, nowMs: number): Promise<ArchiveManifest> {
  const keys = archiveKeys(dayStartMs)
  let count = 0
  async function * lines (): AsyncGenerator<string> {
    let buffer = ''
    for await (const r of rows) {
      buffer += `{"lab_id":${Number(r.lab_id)},"recorded_at_ms":${Number(r.recorded_at_ms)},` +
        `"temperature_milli_c":${Number(r.temperature_milli_c)},"humidity_milli_pct":${Number(r.humidity_milli_pct)}}\n`
      count++
      if (buffer.length >= 65_536) { yield buffer; buffer = '' }
    }
    if (buffer.length > 0) yield buffer
  }
  const gzip = createGzip({ level: 6 })
  // Errors on the source destroy gzip, which makes the loop below throw.
  const feeding = pipeline(Readable.from(lines()), gzip)
  feeding.catch(() => {})
  const hash = createHash('sha256')
  let bytes = 0
  async function * compressed (): AsyncGenerator<Uint8Array> {
    for await (const chunk of gzip as AsyncIterable<Buffer>) {
      hash.update(chunk); bytes += chunk.length
      yield chunk
    }
    await feeding
  }
  let digest: string | undefined
  const sha256 = (): string => (digest ??= hash.digest('hex'))
  await store.putStream(keys.object, compressed(), { contentType: 'application/x-ndjson', contentEncoding: 'gzip', sha256 })
  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    format_version: ARCHIVE_FORMAT_VERSION,
    table: 'readings',
    day: dayKey(dayStartMs),
    from_ms: dayStartMs,
    to_ms: dayStartMs + DAY_MS,
    object: keys.object,
    content_type: 'application/x-ndjson',
    content_encoding: 'gzip',
    rows: count,
    bytes,
    sha256: sha256(),
    order: ['lab_id', 'recorded_at_ms'],
    columns: COLUMNS,
    created_at: new Date(nowMs).toISOString()
  }
  // The manifest goes last: its presence is what says the day is archived.
  await store.putJson(keys.manifest, manifest)
  return manifest
}

function isManifest (value: unknown): value is ArchiveManifest {
  if (typeof value !== 'object' || value === null) return false
  const m = value as Partial<ArchiveManifest>
  return m.format === ARCHIVE_FORMAT && typeof m.rows === 'number' && typeof m.bytes === 'number' &&
    typeof m.object === 'string' && typeof m.sha256 === 'string'
}

/**
 * The day's manifest if the archive is complete and holds exactly `expectedRows`
 * rows; undefined if there is no archive, a partial one, or a stale one.
 */
export async function confirmedDayArchive (store: ArchiveStore, dayStartMs: number, expectedRows: number): Promise<ArchiveManifest | undefined> {
  const keys = archiveKeys(dayStartMs)
  const manifest = await store.getJson(keys.manifest)
  if (!isManifest(manifest) || manifest.object !== keys.object || manifest.from_ms !== dayStartMs) return undefined
  if (manifest.rows !== expectedRows) return undefined
  const size = await store.size(keys.object)
  return size === manifest.bytes ? manifest : undefined
}

/** A folder as archive store (local runs, tests). Each write goes to a temporary name, then is renamed. */
export class LocalArchiveStore implements ArchiveStore {
  readonly root: string
  readonly location: string
  constructor (root: string) {
    this.root = resolve(root)
    this.location = `file://${this.root}`
  }

  private path (key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new Error(`bad archive key ${key}`)
    return join(this.root, key)
  }

  async putStream (key: string, body: AsyncIterable<Uint8Array>, _options?: { contentType: string }): Promise<void> {
    const path = this.path(key)
    await mkdir(dirname(path), { recursive: true })
    const partial = `${path}.partial`
    await pipeline(Readable.from(body), createWriteStream(partial, { flush: true }))
    await rename(partial, path)
  }

  async putJson (key: string, value: unknown): Promise<void> {
    const path = this.path(key)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(`${path}.partial`, `${JSON.stringify(value, null, 2)}\n`, { flush: true })
    await rename(`${path}.partial`, path)
  }

  async getJson (key: string): Promise<unknown> {
    try {
      return JSON.parse(await readFile(this.path(key), 'utf8'))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  async size (key: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(key))).size
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  /** sha256 of a stored object, read back from disk (tests, audits). */
  async sha256 (key: string): Promise<string> {
    const hash = createHash('sha256')
    for await (const chunk of createReadStream(this.path(key))) hash.update(chunk as Buffer)
    return hash.digest('hex')
  }
}
