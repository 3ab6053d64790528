import { Type } from '@sinclair/typebox'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { HttpProblem } from '../http/problem.ts'
import type { LabAverage } from './averages.ts'

const gzipAsync = promisify(gzip)

/** Labs in one page at most (`?limit=`), and ids in one `?lab_id=` list at most. */
export const MAX_PAGE = 10_000
export const MAX_LAB_FILTER = 1_000
/** Answers smaller than this are sent as they are even to clients that accept gzip. */
const COMPRESS_FROM_BYTES = 1_024

export const AllLabsQuery = Type.Object({
  limit: Type.Optional(Type.String({
    pattern: '^[1-9][0-9]{0,4}$',
    description: `labs per page (at most ${MAX_PAGE}); the answer's \`Link: <…>; rel="next"\` header names the next page`
  })),
  after: Type.Optional(Type.String({
    pattern: '^(0|[1-9][0-9]{0,9})$',
    description: 'the page holds labs with ids above this one (the last id of the previous page)'
  })),
  lab_id: Type.Optional(Type.String({
    pattern: `^[1-9][0-9]{0,9}(,[1-9][0-9]{0,9}){0,${MAX_LAB_FILTER - 1}}$`,
    description: `only these labs: comma-separated ids, at most ${MAX_LAB_FILTER}`
  }))
})
export type AllLabsQuery = typeof AllLabsQuery.static

/** Whether `If-None-Match` names this version (weak comparison, as RFC 9110 asks for it). */
export function notModified (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch.trim() === '*') return true
  const bare = (tag: string): string => tag.trim().replace(/^W\//, '')
  return ifNoneMatch.split(',').some((tag) => bare(tag) === bare(etag))
}

/** Whether the client takes gzip (`Accept-Encoding`, honouring `;q=0`). */
export function acceptsGzip (acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false
  let gzipQ: number | undefined
  let anyQ: number | undefined
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';')
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    if (name.trim() === 'gzip' || name.trim() === 'x-gzip') gzipQ = Number.isNaN(q) ? 0 : q
    else if (name.trim() === '*') anyQ = Number.isNaN(q) ? 0 : q
  }
  return (gzipQ ?? anyQ ?? 0) > 0
}

export interface LabsView {
  items: LabAverage[]
  /** the query of the next page, when there is one */
  next: string | undefined
}

function firstAbove (averages: readonly LabAverage[], labId: number): number {
  let lo = 0
  let hi = averages.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((averages[mid] as LabAverage).lab_id <= labId) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The part of the shared answer a query asks for: only some labs, and/or one page of them. */
export function selectView (averages: readonly LabAverage[], query: AllLabsQuery): LabsView {
  let items: readonly LabAverage[] = averages
  if (query.lab_id !== undefined) {
    const wanted = new Set(query.lab_id.split(',').map(Number))
    items = averages.filter((a) => wanted.has(a.lab_id))
  }
  if (query.limit === undefined && query.after === undefined) return { items: [...items], next: undefined }
  const limit = query.limit === undefined ? MAX_PAGE : Number(query.limit)
  if (limit > MAX_PAGE) {
    throw new HttpProblem(400, `limit may be at most ${MAX_PAGE}`, {
      errors: [{ path: '/limit', in: 'querystring', message: `${limit} is above ${MAX_PAGE}` }]
    })
  }
  const start = query.after === undefined ? 0 : firstAbove(items, Number(query.after))
  const page = items.slice(start, start + limit)
  const last = page[page.length - 1]
  const more = start + limit < items.length && last !== undefined
  const params = new URLSearchParams()
  if (query.lab_id !== undefined) params.set('lab_id', query.lab_id)
  params.set('limit', String(limit))
  if (last !== undefined) params.set('after', String(last.lab_id))
  return { items: page, next: more ? params.toString().replaceAll('%2C', ',') : undefined }
}

/** JSON text of a view, gzipped when the client takes it and it is worth it. */
export async function encodeView (items: readonly LabAverage[], gzipOk: boolean): Promise<{ body: Buffer, gzipped: boolean }> {
  const body = Buffer.from(JSON.stringify(items))
  if (!gzipOk || body.length < COMPRESS_FROM_BYTES) return { body, gzipped: false }
  return { body: await gzipAsync(body, { level: 1 }), gzipped: true }
}
