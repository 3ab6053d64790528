/** A Map that keeps at most `capacity` entries, dropping the least recently used one (Map keeps insertion order). */
export class LruMap<K, V> {
  readonly #map = new Map<K, V>()
  readonly capacity: number
  constructor (capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('an LRU map needs a capacity of at least 1')
    this.capacity = capacity
  }

  get size (): number { return this.#map.size }

  get (key: K): V | undefined {
    const value = this.#map.get(key)
    if (value === undefined) return undefined
    this.#map.delete(key)
    this.#map.set(key, value)
    return value
  }

  set (key: K, value: V): void {
    this.#map.delete(key)
    this.#map.set(key, value)
    if (this.#map.size > this.capacity) this.#map.delete(this.#map.keys().next().value as K)
  }

  delete (key: K): void { this.#map.delete(key) }

  clear (): void { this.#map.clear() }

  entries (): IterableIterator<[K, V]> { return this.#map.entries() }
}
