import { createReadStream } from 'node:fs'
import { access } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { APP_CSS, APP_JS, INDEX_HTML } from './assets.ts'
import { DASHBOARD_THRESHOLDS } from './thresholds.ts'

/**
 * The dashboard: a static page (HTML, a small vanilla script, uPlot from node_modules; nothing from a CDN)
 * that asks for a read key and calls the JSON API with it. The page and its assets are public; the data is
 * not.
 */
const UPLOT_DIST = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist')

const TEXT: Record<string, { body: string, type: string }> = {
  '/dashboard': { body: INDEX_HTML, type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { body: APP_JS, type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { body: APP_CSS, type: 'text/css; charset=utf-8' }
}
/** uPlot (pinned in package.json), streamed from its package. */
const VENDOR: Record<string, { file: string, type: string }> = {
  '/dashboard/vendor/uPlot.iife.min.js': { file: join(UPLOT_DIST, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/vendor/uPlot.min.css': { file: join(UPLOT_DIST, 'uPlot.min.css'), type: 'text/css; charset=utf-8' }
}

export default fp(async (app: FastifyInstance) => {
  // Fail at start-up, not on the first visit, if uPlot is missing.
  for (const { file } of Object.values(VENDOR)) await access(file)
  const page = { config: { auth: 'public' as const }, schema: { hide: true } }

  app.servePagesUnder('/dashboard')
  for (const [url, { body, type }] of Object.entries(TEXT)) {
    app.get(url, page, async (_request, reply) => await reply.type(type).header('cache-control', 'no-cache').send(body))
  }
  for (const [url, { file, type }] of Object.entries(VENDOR)) {
    app.get(url, page, async (_request, reply) => await reply.type(type).header('cache-control', 'public, max-age=86400').send(createReadStream(file)))
  }
  app.get('/dashboard/', page, async (_request, reply) => await reply.redirect('/dashboard'))
  app.get('/dashboard/config.json', page, async () => ({ thresholds: DASHBOARD_THRESHOLDS }))
}, { name: 'dashboard', dependencies: ['page-security'] })
