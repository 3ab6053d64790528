import { createReadStream } from 'node:fs'
import { access, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { DASHBOARD_THRESHOLDS } from './thresholds.ts'

/** The page, its style and its script: plain files beside this module (in src/ and, copied by the build, in dist/). */
const ASSETS = new URL('assets/', import.meta.url)
const UPLOT_DIST = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist')

const TEXT: Record<string, { file: string, type: string }> = {
  '/dashboard': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' }
}
/** uPlot (pinned in package.json), streamed from its package. */
const VENDOR: Record<string, { file: string, type: string }> = {
  '/dashboard/vendor/uPlot.iife.min.js': { file: join(UPLOT_DIST, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/vendor/uPlot.min.css': { file: join(UPLOT_DIST, 'uPlot.min.css'), type: 'text/css; charset=utf-8' }
}

/** The dashboard: a static page that asks for a read key and calls the JSON API with it; the page is public, the data is not. */
export default fp(async (app: FastifyInstance) => {
  // Read once, and fail at start-up rather than on the first visit if an asset or uPlot is missing.
  const texts = await Promise.all(Object.entries(TEXT).map(async ([url, { file, type }]) =>
    ({ url, type, body: await readFile(new URL(file, ASSETS), 'utf8') })))
  for (const { file } of Object.values(VENDOR)) await access(file)
  const page = { config: { auth: 'public' as const }, schema: { hide: true } }

  app.servePagesUnder('/dashboard')
  for (const { url, type, body } of texts) {
    app.get(url, page, async (_request, reply) => await reply.type(type).header('cache-control', 'no-cache').send(body))
  }
  for (const [url, { file, type }] of Object.entries(VENDOR)) {
    app.get(url, page, async (_request, reply) => await reply.type(type).header('cache-control', 'public, max-age=86400').send(createReadStream(file)))
  }
  app.get('/dashboard/', page, async (_request, reply) => await reply.redirect('/dashboard'))
  app.get('/dashboard/config.json', page, async () => ({ thresholds: DASHBOARD_THRESHOLDS }))
}, { name: 'dashboard', dependencies: ['page-security'] })
