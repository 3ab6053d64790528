import { findActiveKey, type ApiKey, type KeyRole } from '@labclimate/store'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
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
}

export interface AuthPluginOptions {
  /** How long a key's lookup is remembered; a revoked key stops working within this. */
  cacheMs: number
}

const CACHE_LIMIT = 10_000
const CHALLENGE = { 'www-authenticate': 'Bearer realm="labclimate"' }

export default fp<AuthPluginOptions>(async (app, { cacheMs }) => {
  const cache = new Map<string, { key: ApiKey | undefined, until: number }>()

  async function lookup (token: string): Promise<ApiKey | undefined> {
    const now = Date.now()
    const hit = cache.get(token)
    if (hit !== undefined && hit.until > now) return hit.key
    const key = await findActiveKey(app.db, token)
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(token, { key, until: now + cacheMs })
    return key
  }

  app.decorateRequest('apiKey', null)
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const access: Access = request.routeOptions.config.auth ?? (request.routeOptions.url === undefined ? 'public' : 'admin')
    if (access === 'public') return
    const header = request.headers.authorization
    const token = header?.startsWith('Bearer ') === true ? header.slice(7).trim() : undefined
    if (token === undefined || token === '') {
      throw new HttpProblem(401, 'This route needs an API key: send "Authorization: Bearer <key>".', { headers: CHALLENGE })
    }
    const key = await lookup(token)
    if (key === undefined) throw new HttpProblem(401, 'The API key is not valid or has been revoked.', { headers: CHALLENGE })
    if (!ALLOWED[access].includes(key.role)) {
      throw new HttpProblem(403, `A ${key.role} key may not do this; it needs a ${ALLOWED[access].join(' or ')} key.`)
    }
    request.apiKey = key
  })

  /** Forget cached lookups (after a revoke through this process). */
  app.decorate('forgetApiKeys', () => { cache.clear() })
}, { name: 'auth', dependencies: ['database'] })

declare module 'fastify' {
  interface FastifyInstance {
    forgetApiKeys: () => void
  }
}
