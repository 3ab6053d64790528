import { LruMap } from './lru.ts'

const WINDOW_MS = 60_000

interface Window { startMs: number, used: number }

/**
 * Failed authentications per client address and minute, so that guessing keys costs no database lookups past
 * the budget. A lookup takes its place when it starts (a concurrent burst cannot all get through) and gives it
 * back if the key was valid; the least recently seen addresses are forgotten first.
 */
export class FailureBudget {
  readonly #windows: LruMap<string, Window>
  readonly #perMinute: number
  readonly #now: () => number
  constructor ({ perMinute, addresses = 100_000, now = Date.now }: { perMinute: number, addresses?: number, now?: () => number }) {
    this.#perMinute = perMinute
    this.#windows = new LruMap(addresses)
    this.#now = now
  }

  #window (address: string): Window {
    const now = this.#now()
    let window = this.#windows.get(address)
    if (window === undefined || now - window.startMs >= WINDOW_MS) {
      window = { startMs: now, used: 0 }
      this.#windows.set(address, window)
    }
    return window
  }

  /** Seconds until this address may try again, or 0 if it still has budget. */
  exhaustedFor (address: string): number {
    const window = this.#window(address)
    if (window.used < this.#perMinute) return 0
    return Math.max(1, Math.ceil((window.startMs + WINDOW_MS - this.#now()) / 1000))
  }

  /** Counts one failed (or possibly failing) attempt. */
  spend (address: string): void { this.#window(address).used++ }

  /** Gives back an attempt that turned out to be a valid key. */
  refund (address: string): void {
    const window = this.#window(address)
    if (window.used > 0) window.used--
  }
}
