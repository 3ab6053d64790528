import { refreshRollingTotals, type Database, type RefreshStats, type RollingTotals } from '@labclimate/store'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { HttpProblem } from '../http/problem.ts'
import { last24Hours, toLabAverage, type LabAverage } from './averages.ts'

const gzipAsync = promisify(gzip)

/** Labs in one page at most (`?limit=`), and ids in one `?lab_id=` list at most. */
export const MAX_PAGE = 10_000
export const MAX_LAB_FILTER = 1_000
/** Labs serialized between two turns of the event loop when the shared answer is rebuilt. */
const SERIALIZE_SLICE = 2_000
/** Answers smaller than this are sent as they are even to clients that accept gzip. */
const COMPRESS_FROM_BYTES = 1_024

export const AllLabsQuery = Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,4}$', description: `labs per page (at most ${MAX_PAGE}); the answer's \`Link: <…>; rel="next"\` header names the next page` })),
  after: Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,9})$', description: 'the page holds labs with ids above this one (the last id of the previous page)' })),
  lab_id: Type.Optional(Type.String({ pattern: `^[1-9][0-9]{0,9}(,[1-9][0-9]{0,9}){0,${MAX_LAB_FILTER - 1}}$`, description: `only these labs: comma-separated ids, at most ${MAX_LAB_FILTER}` }))
})
export type AllLabsQuery = typeof AllLabsQuery.static

/** One computed all-labs answer, shared by every request until the next refresh. */
export interface AllLabsAnswer {
  /** when it was computed (the app's clock) */
  computedAtMs: number
  /** strong validator of `body`; the same for every view derived from it (pages, lab filters) */
  etag: string
  averages: LabAverage[]
  body: Buffer
  gzipped: Buffer
  stats: RefreshStats
}

/**
 * Keeps the all-labs answer: every refresh reads only what changed since the last (see refreshRollingTotals),
 * and an answer whose content did not change keeps its version (ETag).
 */
export class AllLabsState {
  #totals: RollingTotals | undefined
  #latest: AllLabsAnswer | undefined
  #pending: Promise<AllLabsAnswer> | undefined
  readonly #db: () => Kysely<Database>
  readonly #now: () => number

  constructor (db: () => Kysely<Database>, now: () => number) {
    this.#db = db
    this.#now = now
  }

  get latest (): AllLabsAnswer | undefined { return this.#latest }

  /** A refresh (the one under way, if any): at most one runs at a time. */
  async refresh (): Promise<AllLabsAnswer> {
    if (this.#pending !== undefined) return await this.#pending
    const pending = this.#compute().finally(() => { this.#pending = undefined })
    this.#pending = pending
    // A background refresh that fails is retried by the next request; waiting requests see the error.
    pending.catch(() => {})
    return await pending
  }

  /** An answer computed after this call began (waits for a refresh under way, then runs its own). */
  async fresh (): Promise<AllLabsAnswer> {
    if (this.#pending !== undefined) await this.#pending.catch(() => {})
    return await this.refresh()
  }

  async #compute (): Promise<AllLabsAnswer> {
    const computedAtMs = this.#now()
    const window = last24Hours(computedAtMs)
    // The change stamps are the writers' wall clock, so the checkpoint is too (not the app's clock, which tests pin).
    const { totals, stats } = await refreshRollingTotals(this.#db(), this.#totals, window, Date.now())
    this.#totals = totals
    const previous = this.#latest
    if (previous !== undefined && !stats.full && stats.changedLabs === 0 && stats.shiftMs === 0 && previous.averages[0]?.window_end === new Date(window.endMs).toISOString()) {
      this.#latest = { ...previous, computedAtMs, stats }
      return this.#latest
    }
    const sorted = [...totals.byLab.values()].sort((a, b) => a.labId - b.labId)
    // Serialized, hashed and gzipped once for all requests (at fleet scale ~10 MB of JSON), in slices with a turn
    // of the event loop between them: done in one go it held every other request (a 304 too) for ~100 ms.
    const averages: LabAverage[] = []
    const parts: Buffer[] = []
    const hash = createHash('sha256')
    for (let i = 0; i < sorted.length; i += SERIALIZE_SLICE) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve))
      const slice = sorted.slice(i, i + SERIALIZE_SLICE).map((t) => toLabAverage(t, window))
      averages.push(...slice)
      const text = JSON.stringify(slice)
      const part = Buffer.from(`${i === 0 ? '[' : ','}${text.slice(1, -1)}`)
      hash.update(part)
      parts.push(part)
    }
    const end = Buffer.from(parts.length === 0 ? '[]' : ']')
    hash.update(end)
    parts.push(end)
    const body = Buffer.concat(parts)
    const etag = `"${hash.digest('base64url').slice(0, 27)}"`
    this.#latest = previous?.etag === etag
      ? { ...previous, computedAtMs, stats }
      : { computedAtMs, etag, averages, body, gzipped: await gzipAsync(body, { level: 1 }), stats }
    return this.#latest
  }
}

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
    throw new HttpProblem(400, `limit may be at most ${MAX_PAGE}`, { errors: [{ path: '/limit', in: 'querystring', message: `${limit} is above ${MAX_PAGE}` }] })
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
