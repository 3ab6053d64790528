import { findActiveKeyByHash, hashKey, isConnectionError, isWellFormedKey, listActiveKeysWithHashes, type ApiKey, type KeyRole } from '@labclimate/store'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { FailureBudget } from '../auth/failure-budget.ts'
import { KeyCache, LookupOverloadError } from '../auth/key-cache.ts'
import { HttpProblem } from '../http/problem.ts'

/**
 * Who may call a route, declared in its `config.auth`:
 * - public: anyone (hello, health, docs)
 * - read: read and admin keys (averages, series, lab details)
 * - device: device keys, each bound to one lab (readings)
 * - admin: admin keys (labs and keys)
 * A route that declares nothing is admin-only: forgetting to declare fails closed.
 */
export type Access = 'public' | 'read' | 'device' | 'admin'

const ALLOWED: Record<Exclude<Access, 'public'>, readonly KeyRole[]> = {
  read: ['read', 'admin'],
  device: ['device'],
  admin: ['admin']
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: Access
  }
  interface FastifyRequest {
    apiKey: ApiKey | null
  }
  interface FastifyInstance {
    /** Forgets a key this process revoked, at once (other processes within AUTH_CACHE_SECONDS). */
    forgetApiKey: (keyId: number) => void
    keyCache: KeyCache
  }
}

export interface AuthPluginOptions {
  /** How long a key's lookup is remembered; a revoked key stops working within this. */
  cacheMs: number
  /** Known keys kept in memory (at least the fleet's device keys). */
  cacheKeys: number
  /** How long into a database outage known keys are still accepted. */
  staleMs: number
  /** Failed authentications per client address and minute before lookups are refused (429). */
  failuresPerMinute: number
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="labclimate"' }
/** Tokens known not to be keys, remembered so that a device with a wrong key costs one lookup per cacheMs. */
const REFUSED_TOKENS_KEPT = 10_000
/** Lookups of unknown tokens at once (the pool has other work) and how many may wait for one. */
const MAX_LOOKUPS = 4
const MAX_WAITING_LOOKUPS = 1000

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive, spaces around ignored), or undefined. */
export function bearerToken (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

export default fp<AuthPluginOptions>(async (app, options) => {
  const cache = new KeyCache({
    lookup: async (keyHash) => await findActiveKeyByHash(app.db, keyHash),
    isOutage: isConnectionError,
    freshMs: options.cacheMs,
    staleMs: options.staleMs,
    capacity: options.cacheKeys,
    negativeCapacity: REFUSED_TOKENS_KEPT,
    maxLookups: MAX_LOOKUPS,
    maxWaiting: MAX_WAITING_LOOKUPS
  })
  const failures = new FailureBudget({ perMinute: options.failuresPerMinute })

  // A task started for the nightly burst knows the fleet's keys before its first request. If the
  // database does not answer, the task starts cold and looks keys up as they come.
  try {
    const started = Date.now()
    // From the reader: a key too new to be there is looked up on the writer on its first use.
    const keys = await listActiveKeysWithHashes(app.dbRead, options.cacheKeys)
    cache.warm(keys)
    app.log.info({ keys: keys.length, ms: Date.now() - started }, 'key cache warmed')
  } catch (error) {
    app.log.warn({ err: error }, 'key cache not warmed: the database did not answer')
  }

  function refuse (request: FastifyRequest, detail: string): never {
    failures.spend(request.ip)
    throw new HttpProblem(401, detail, { headers: CHALLENGE })
  }

  app.decorateRequest('apiKey', null)
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const access: Access = request.routeOptions.config.auth ?? (request.routeOptions.url === undefined ? 'public' : 'admin')
    if (access === 'public') return
    const token = bearerToken(request.headers.authorization)
    const keyHash = token !== undefined && isWellFormedKey(token) ? hashKey(token) : undefined
    // Keys this process knows are never held back by their address's failures (a device behind the same
    // NAT as an attacker keeps working); anything else is, before it can cost a lookup.
    if (keyHash === undefined || !cache.knows(keyHash)) {
      const wait = failures.exhaustedFor(request.ip)
      if (wait > 0) {
        throw new HttpProblem(429, `Too many failed authentications from this address; retry in ${wait} s.`, { headers: { 'retry-after': String(wait) } })
      }
    }
    if (token === undefined) refuse(request, 'This route needs an API key: send "Authorization: Bearer <key>".')
    if (keyHash === undefined) refuse(request, 'The API key is not valid: a labclimate key is "lc_" followed by 43 characters.')
    let key: ApiKey | undefined
    const known = cache.knows(keyHash)
    // A lookup takes its place in the address's budget when it starts, and gives it back if the key is valid;
    // requests that join a lookup under way, or carry a token already refused, cost the database nothing.
    const spent = !known && cache.wouldLookUp(keyHash)
    if (spent) failures.spend(request.ip)
    try {
      key = await cache.resolve(keyHash)
    } catch (error) {
      if (error instanceof LookupOverloadError) {
        throw new HttpProblem(503, 'Too many API keys are being checked at once; retry in 1 s.', { headers: { 'retry-after': '1' }, cause: error })
      }
      throw error
    }
    if (key === undefined) throw new HttpProblem(401, 'The API key is not valid or has been revoked.', { headers: CHALLENGE })
    if (spent) failures.refund(request.ip)
    if (!ALLOWED[access].includes(key.role)) {
      throw new HttpProblem(403, `A ${key.role} key may not do this; it needs a ${ALLOWED[access].join(' or ')} key.`)
    }
    request.apiKey = key
  })

  app.decorate('keyCache', cache)
  app.decorate('forgetApiKey', (keyId: number) => { cache.forget(keyId) })
}, { name: 'auth', dependencies: ['database'] })
