import type { ApiKey } from '@labclimate/store'
import { LruMap } from './lru.ts'

export interface KeyCacheOptions {
  /** Looks a key up by its hash in the database; throws when the database cannot answer. */
  lookup: (keyHash: string) => Promise<ApiKey | undefined>
  /** Tells a "database unreachable" error from others (only those let stale entries be served). */
  isOutage: (error: unknown) => boolean
  /** How long an answer is trusted while the database is up; a revoked key stops working within this. */
  freshMs: number
  /** How long into a database outage known keys are still served from the cache. */
  staleMs: number
  /** Known keys kept (least recently used dropped first): at least the fleet's device keys. */
  capacity: number
  /** Tokens known not to be keys, kept for freshMs. */
  negativeCapacity: number
  /** Lookups of tokens not in the cache at once, and how many may wait for one; beyond that OverloadError. */
  maxLookups: number
  maxWaiting: number
  now?: () => number
}

/** Too many key lookups are already under way or waiting; the client should retry shortly. */
export class LookupOverloadError extends Error {
  override name = 'LookupOverloadError'
}

interface Known { key: ApiKey, confirmedMs: number }

/**
 * What this process knows about API keys, by SHA-256 of the token, so that most requests and a database outage
 * cost no lookup (what it keeps and for how long: docs/architecture.md, "Inside the API").
 */
export class KeyCache {
  readonly #options: KeyCacheOptions
  readonly #now: () => number
  readonly #known: LruMap<string, Known>
  readonly #refused: LruMap<string, number>
  readonly #inFlight = new Map<string, Promise<ApiKey | undefined>>()
  #lookups = 0
  readonly #waiting: Array<() => void> = []
  #unreachableSinceMs: number | undefined
  #probe: Promise<unknown> | undefined
  /** Lookups sent to the database (for tests and logs). */
  lookupCount = 0

  constructor (options: KeyCacheOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#known = new LruMap(options.capacity)
    this.#refused = new LruMap(options.negativeCapacity)
  }

  get size (): number { return this.#known.size }

  /** A key this process knows (however long ago it was confirmed): such tokens skip the per-address limit. */
  knows (keyHash: string): boolean { return this.#known.get(keyHash) !== undefined }

  /** Whether resolving this unknown token now would send a lookup (not already refused, none under way). */
  wouldLookUp (keyHash: string): boolean {
    const refusedUntil = this.#refused.get(keyHash)
    return !this.#inFlight.has(keyHash) && !(refusedUntil !== undefined && (refusedUntil > this.#now() || this.#inOutage(this.#now())))
  }

  /** Loads keys read from the database at start, as just confirmed. */
  warm (keys: ReadonlyArray<{ keyHash: string, apiKey: ApiKey }>): void {
    const now = this.#now()
    // Oldest first, so that the newest stay if there are more keys than room.
    for (let i = keys.length - 1; i >= 0; i--) {
      const { keyHash, apiKey } = keys[i] as { keyHash: string, apiKey: ApiKey }
      this.#known.set(keyHash, { key: apiKey, confirmedMs: now })
    }
  }

  /** Forgets one key (after it was revoked through this process). */
  forget (keyId: number): void {
    for (const [hash, known] of this.#known.entries()) {
      if (known.key.id === keyId) { this.#known.delete(hash); this.#refused.set(hash, this.#now() + this.#options.freshMs) }
    }
  }

  #inOutage (now: number): boolean {
    return this.#unreachableSinceMs !== undefined && now - this.#unreachableSinceMs <= this.#options.staleMs
  }

  /** The key for this hash, or undefined if it is none; throws if the database is needed and cannot answer. */
  async resolve (keyHash: string): Promise<ApiKey | undefined> {
    const now = this.#now()
    const known = this.#known.get(keyHash)
    if (known !== undefined && now - known.confirmedMs < this.#options.freshMs) return known.key
    const refusedUntil = this.#refused.get(keyHash)
    if (refusedUntil !== undefined && (refusedUntil > now || this.#inOutage(now))) return undefined
    if (known !== undefined && this.#inOutage(now)) {
      this.#probeInBackground(keyHash)
      return known.key
    }
    try {
      return await this.#lookupOnce(keyHash)
    } catch (error) {
      if (known !== undefined && this.#options.isOutage(error) && this.#inOutage(this.#now())) return known.key
      throw error
    }
  }

  #probeInBackground (keyHash: string): void {
    if (this.#probe !== undefined) return
    this.#probe = this.#lookupOnce(keyHash).catch(() => undefined).finally(() => { this.#probe = undefined })
  }

  async #lookupOnce (keyHash: string): Promise<ApiKey | undefined> {
    const pending = this.#inFlight.get(keyHash)
    if (pending !== undefined) return await pending
    const lookup = this.#lookup(keyHash).finally(() => this.#inFlight.delete(keyHash))
    this.#inFlight.set(keyHash, lookup)
    return await lookup
  }

  async #lookup (keyHash: string): Promise<ApiKey | undefined> {
    await this.#slot()
    try {
      this.lookupCount++
      const key = await this.#options.lookup(keyHash)
      const now = this.#now()
      this.#unreachableSinceMs = undefined
      if (key === undefined) {
        this.#known.delete(keyHash)
        this.#refused.set(keyHash, now + this.#options.freshMs)
      } else {
        this.#refused.delete(keyHash)
        this.#known.set(keyHash, { key, confirmedMs: now })
      }
      return key
    } catch (error) {
      if (this.#options.isOutage(error)) this.#unreachableSinceMs ??= this.#now()
      throw error
    } finally {
      this.#release()
    }
  }

  async #slot (): Promise<void> {
    if (this.#lookups < this.#options.maxLookups) { this.#lookups++; return }
    if (this.#waiting.length >= this.#options.maxWaiting) throw new LookupOverloadError('too many API key lookups at once')
    await new Promise<void>((resolve) => this.#waiting.push(resolve))
  }

  #release (): void {
    const next = this.#waiting.shift()
    if (next !== undefined) next()
    else this.#lookups--
  }
}
