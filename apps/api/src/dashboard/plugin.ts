import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { DASHBOARD_THRESHOLDS } from './thresholds.ts'

/**
 * The dashboard: a static page (HTML, a small vanilla script, uPlot from node_modules; nothing from a CDN)
 * that asks for a read key and calls the JSON API with it. The page and its assets are public; the data is
 * not. Its Content-Security-Policy (scripts and styles from the API only) is set by the docs plugin.
 * Assets are read from src/dashboard/assets (also when running from dist: the path is the same two levels up).
 */
const ASSETS = new URL('../../src/dashboard/assets/', import.meta.url)
const UPLOT_DIST = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist')

const FILES: Record<string, { file: string, type: string }> = {
  '/dashboard': { file: new URL('index.html', ASSETS).pathname, type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: new URL('app.js', ASSETS).pathname, type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: new URL('app.css', ASSETS).pathname, type: 'text/css; charset=utf-8' },
  '/dashboard/vendor/uPlot.iife.min.js': { file: join(UPLOT_DIST, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/vendor/uPlot.min.css': { file: join(UPLOT_DIST, 'uPlot.min.css'), type: 'text/css; charset=utf-8' }
}

export default fp(async (app: FastifyInstance) => {
  // Fail at start-up, not on the first visit, if an asset is missing.
  for (const { file } of Object.values(FILES)) await readFile(file)

  for (const [url, { file, type }] of Object.entries(FILES)) {
    app.get(url, { config: { auth: 'public' }, schema: { hide: true } }, async (_request, reply) => {
      reply.type(type).header('cache-control', 'no-cache')
      return await reply.send(createReadStream(file))
    })
  }
  app.get('/dashboard/', { config: { auth: 'public' }, schema: { hide: true } }, async (_request, reply) => await reply.redirect('/dashboard'))
  app.get('/dashboard/config.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => ({ thresholds: DASHBOARD_THRESHOLDS }))
}, { name: 'dashboard' })
