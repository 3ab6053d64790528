// The key cache's rules as pure logic (the database is a function here; the real one is in attack-surface
// and db-outage tests): sized for the fleet, LRU, one lookup per token, stale only within the outage bound.
import type { ApiKey } from '@labclimate/store'
import t from 'tap'
import { loadApiConfig } from '../src/config.ts'
import { FailureBudget } from '../src/auth/failure-budget.ts'
import { KeyCache } from '../src/auth/key-cache.ts'
import { LruMap } from '../src/auth/lru.ts'

const key = (id: number): ApiKey => ({ id, prefix: 'lc_x', role: 'device', labId: id, label: '', createdAtMs: 0, revokedAtMs: null })
const outage = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })

function cache (lookup: (hash: string) => Promise<ApiKey | undefined>, clock: { now: number }, capacity = 60_000): KeyCache {
  return new KeyCache({
    lookup,
    isOutage: (e) => (e as { code?: string }).code === 'ECONNREFUSED',
    freshMs: 30_000,
    staleMs: 300_000,
    capacity,
    negativeCapacity: 100,
    maxLookups: 4,
    maxWaiting: 10,
    now: () => clock.now
  })
}

t.test('LRU: the least recently used entry goes first', async (t) => {
  const lru = new LruMap<string, number>(2)
  lru.set('a', 1); lru.set('b', 2)
  lru.get('a')
  lru.set('c', 3)
  t.equal(lru.get('b'), undefined)
  t.equal(lru.get('a'), 1)
  t.equal(lru.size, 2)
})

t.test('the default holds the fleet: 60,000 keys loaded at start answer without a lookup', { timeout: 60_000 }, async (t) => {
  const config = loadApiConfig({ DATABASE_URL: 'sqlite:x.db', SQS_QUEUE_URL: 'http://q', AWS_REGION: 'us-east-1' })
  t.ok(config.authCacheKeys >= 50_000, 'AUTH_CACHE_KEYS default ≥ 50,000')
  let lookups = 0
  const clock = { now: 0 }
  const keys = cache(async () => { lookups++; return undefined }, clock, 100_000)
  keys.warm(Array.from({ length: 60_000 }, (_, i) => ({ keyHash: `h${i}`, apiKey: key(i) })))
  let wrong = 0
  for (let i = 0; i < 60_000; i++) if ((await keys.resolve(`h${i}`))?.id !== i) wrong++
  t.equal(wrong, 0, 'every one of them known')
  t.equal(lookups, 0)
  t.equal(keys.size, 60_000)
})

t.test('one lookup per token at a time; a refused token is remembered', async (t) => {
  let lookups = 0
  const keys = cache(async () => { lookups++; await new Promise((resolve) => setTimeout(resolve, 20)); return undefined }, { now: 0 })
  const answers = await Promise.all(Array.from({ length: 50 }, async () => await keys.resolve('bad')))
  t.same(new Set(answers), new Set([undefined]))
  t.equal(lookups, 1)
  await keys.resolve('bad')
  t.equal(lookups, 1)
})

t.test('through an outage a known key is served stale, for staleMs from the first failed lookup and no longer', async (t) => {
  const clock = { now: 0 }
  let down = false
  let lookups = 0
  const keys = cache(async () => { lookups++; if (down) throw outage; return key(1) }, clock)
  t.equal((await keys.resolve('k'))?.id, 1)
  down = true
  clock.now = 31_000
  t.equal((await keys.resolve('k'))?.id, 1, 'expired, the lookup fails: served stale')
  const failedAt = clock.now
  const before = lookups
  clock.now = failedAt + 299_000
  t.equal((await keys.resolve('k'))?.id, 1, 'still within the bound: served without waiting on the database')
  t.ok(lookups - before <= 1, 'at most one probe')
  await t.rejects(keys.resolve('unknown'), outage, 'an unknown key cannot be checked: the outage error (503)')
  clock.now = failedAt + 301_000
  await t.rejects(keys.resolve('k'), outage, 'past the bound: no longer served')
  down = false
  t.equal((await keys.resolve('k'))?.id, 1, 'back: confirmed again')
})

t.test('failure budget per address: spent by lookups, given back by valid keys, new each minute', async (t) => {
  const clock = { now: 0 }
  const budget = new FailureBudget({ perMinute: 2, now: () => clock.now })
  budget.spend('a'); budget.spend('a')
  t.ok(budget.exhaustedFor('a') > 0)
  t.equal(budget.exhaustedFor('b'), 0, 'another address')
  budget.refund('a')
  t.equal(budget.exhaustedFor('a'), 0, 'a valid key gives its place back')
  budget.spend('a')
  clock.now = 60_000
  t.equal(budget.exhaustedFor('a'), 0, 'a new minute')
})
