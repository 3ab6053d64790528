import { refreshRollingTotals, type Database, type RefreshStats, type RollingTotals } from '@labclimate/store'
import type { Kysely } from 'kysely'
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { last24Hours, toLabAverage, type LabAverage } from './averages.ts'

const gzipAsync = promisify(gzip)

/** Labs serialized between two turns of the event loop when the shared answer is rebuilt. */
const SERIALIZE_SLICE = 2_000
/** A cached answer older than this is never served (its window would be more than a minute behind). */
const STALE_LIMIT_MS = 60_000

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

export interface AllLabsCacheOptions {
  db: () => Kysely<Database>
  /** the app's clock */
  now: () => number
  /**
   * How long one answer is served before it is refreshed; 0 = every request waits for a refresh begun after it
   * came. A refresh re-reads only the labs changed since the last one and the minutes the window moved (the
   * first reads every lab: at 46,000 labs seconds), so the answer is at most this old plus one refresh.
   */
  cacheMs: number
}

/**
 * The shared all-labs answer: every refresh reads only what changed since the last (see refreshRollingTotals),
 * and an answer whose content did not change keeps its version (ETag).
 */
export class AllLabsCache {
  #totals: RollingTotals | undefined
  #latest: AllLabsAnswer | undefined
  #pending: Promise<AllLabsAnswer> | undefined
  readonly #db: () => Kysely<Database>
  readonly #now: () => number
  readonly #cacheMs: number

  constructor ({ db, now, cacheMs }: AllLabsCacheOptions) {
    this.#db = db
    this.#now = now
    this.#cacheMs = cacheMs
  }

  /** The answer to serve: at most cacheMs (plus one refresh) old; with cacheMs 0, computed after this call. */
  async current (): Promise<AllLabsAnswer> {
    if (this.#cacheMs <= 0) return await this.#fresh()
    const latest = this.#latest
    const age = latest === undefined ? Infinity : this.#now() - latest.computedAtMs
    // Fresh enough: serve it. Older: serve it while one refresh runs in the background (whoever asks starts it;
    // at most one at a time). Older than STALE_LIMIT_MS (an idle API): wait for a new one.
    if (age >= this.#cacheMs) this.#refresh().catch(() => {})
    return latest !== undefined && age < STALE_LIMIT_MS ? latest : await this.#refresh()
  }

  /** A refresh (the one under way, if any): at most one runs at a time. */
  async #refresh (): Promise<AllLabsAnswer> {
    if (this.#pending !== undefined) return await this.#pending
    const pending = this.#compute().finally(() => { this.#pending = undefined })
    this.#pending = pending
    // A background refresh that fails is retried by the next request; waiting requests see the error.
    pending.catch(() => {})
    return await pending
  }

  /** An answer computed after this call began (waits for a refresh under way, then runs its own). */
  async #fresh (): Promise<AllLabsAnswer> {
    if (this.#pending !== undefined) await this.#pending.catch(() => {})
    return await this.#refresh()
  }

  async #compute (): Promise<AllLabsAnswer> {
    const computedAtMs = this.#now()
    const window = last24Hours(computedAtMs)
    // The change stamps are the writers' wall clock, so the checkpoint is too (not the app's clock, which tests pin).
    const { totals, stats } = await refreshRollingTotals(this.#db(), this.#totals, window, Date.now())
    this.#totals = totals
    const previous = this.#latest
    const unchanged = !stats.full && stats.changedLabs === 0 && stats.shiftMs === 0
    if (previous !== undefined && unchanged && previous.averages[0]?.window_end === new Date(window.endMs).toISOString()) {
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
