// The dashboard in headless Chromium: real readings posted through the API appear in the table and the chart.
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { PAGE_CSP } from '../src/plugins/page-security.ts'
import { DASHBOARD_THRESHOLDS } from '../src/dashboard/thresholds.ts'
import { startWorkerProcess, waitUntilStored } from '@labclimate/testkit/worker'
import { buildTestApp } from './helper.ts'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]
const STEP_MS = 30_000
const MINUTE_MS = 60_000
const HOUR_MS = 3_600_000

/** n / d in thousandths rounded half away from zero, as a number with 3 decimals (n, d > 0). */
const mean3 = (sumMilli: number, n: number): number => Math.floor((2 * sumMilli + n) / (2 * n)) / 1000

t.test('the page, its assets and its policy, without a browser', async (t) => {
  const { app } = await buildTestApp(t)
  const page = await app.inject('/dashboard')
  t.equal(page.statusCode, 200, 'the page needs no key')
  t.match(page.headers['content-type'], /^text\/html/)
  t.equal(page.headers['content-security-policy'], PAGE_CSP)
  t.notMatch(page.body, /https?:\/\//, 'nothing from a CDN or anywhere else')
  const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string).filter((a) => !a.startsWith('data:'))
  t.same(assets.sort(), ['/dashboard/app.css', '/dashboard/app.js', '/dashboard/vendor/uPlot.iife.min.js', '/dashboard/vendor/uPlot.min.css'])
  for (const asset of assets) {
    const loaded = await app.inject(asset)
    t.equal(loaded.statusCode, 200, `${asset} loads`)
    t.ok(loaded.body.length > 500, `${asset} has content`)
  }
  t.match((await app.inject('/dashboard/vendor/uPlot.iife.min.js')).body, /uPlot/)
  t.same((await app.inject('/dashboard/config.json')).json(), { thresholds: DASHBOARD_THRESHOLDS })
  t.equal((await app.inject('/labs')).statusCode, 401, 'the data still needs a key')
})

t.test('in Chromium: the table shows the posted averages, out-of-range highlighted; the chart draws', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (scripts/install-chromium.sh)`
}, async (t) => {
  const api = await buildTestApp(t)
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  const address = api.app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  // The real worker stores what the API queues, as in production.
  const worker = startWorkerProcess(t, api.queue, api.database.url)

  // Two labs: a warm office in range and a cold room out of range, 3 h of 30 s readings each.
  const now = Date.now()
  const last = Math.floor(now / STEP_MS) * STEP_MS - STEP_MS
  const count = 360
  const stamps = Array.from({ length: count }, (_, i) => last - (count - 1 - i) * STEP_MS)
  const labs = [
    { name: 'Office', address: 'A1', temperature: (i: number) => 21 + (i % 13) * 0.1, humidity: (i: number) => 45 + (i % 7) * 0.5 },
    { name: 'Cold room', address: 'B2', temperature: (i: number) => 4 + (i % 5) * 0.1, humidity: (i: number) => 80 + (i % 3) * 0.5 }
  ]
  const posted: Array<{ id: number, avgT: number, avgH: number }> = []
  for (const lab of labs) {
    const created = await api.app.inject({ method: 'POST', url: '/labs', headers: api.admin, payload: { name: lab.name, address: lab.address } })
    t.equal(created.statusCode, 201)
    const id = created.json<{ id: number }>().id
    const readings = stamps.map((timestamp, i) => ({
      timestamp,
      temperature: Math.round(lab.temperature(i) * 10) / 10,
      humidity: Math.round(lab.humidity(i) * 10) / 10
    }))
    const sent = await fetch(`${base}/labs/${id}/readings`, {
      method: 'POST',
      headers: { ...(await api.device(id)), 'content-type': 'application/json' },
      body: JSON.stringify(readings)
    })
    t.equal(sent.status, 202)
    t.equal((await sent.json() as { accepted: number }).accepted, count)
    posted.push({
      id,
      avgT: mean3(readings.reduce((a, r) => a + Math.round(r.temperature * 1000), 0), count),
      avgH: mean3(readings.reduce((a, r) => a + Math.round(r.humidity * 1000), 0), count)
    })
  }
  await waitUntilStored(api.database.db, api.queue, 2 * count, worker)
  t.pass('the worker stored what was posted')
  const [office, cold] = posted as [typeof posted[number], typeof posted[number]]
  const { temperatureC, humidityPct } = DASHBOARD_THRESHOLDS
  t.ok(office.avgT > temperatureC.min && office.avgT < temperatureC.max &&
    office.avgH > humidityPct.min && office.avgH < humidityPct.max, 'the office is in range')
  t.ok(cold.avgT < temperatureC.min && cold.avgH > humidityPct.max, 'the cold room is out of range on both')

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
  const problems: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()) })
  page.on('pageerror', (e) => { problems.push(e.message) })
  const reader = api.reader.authorization.slice('Bearer '.length)

  await page.goto(`${base}/dashboard`)
  await page.locator('#key').fill(reader)
  await page.locator('#key-form button[type=submit]').click()
  const row = (id: number): ReturnType<typeof page.locator> => page.locator(`#labs tbody tr[data-lab-id="${id}"]`)
  await row(office.id).waitFor({ timeout: 10_000 })
  for (const lab of [office, cold]) {
    const cells = await row(lab.id).locator('td').allTextContents()
    t.same(cells, [String(lab.id), lab.avgT.toFixed(2), lab.avgH.toFixed(2), String(count)], `lab ${lab.id}: the averages of what was posted`)
  }
  t.same(await row(office.id).locator('td.out').count(), 0, 'the office is not highlighted')
  t.same(await row(cold.id).locator('td.out').allTextContents(), [cold.avgT.toFixed(2), cold.avgH.toFixed(2)], 'the cold room is highlighted on both')
  t.match(await page.locator('#thresholds').textContent(), `${temperatureC.min}–${temperatureC.max} °C`, 'the page states the thresholds')
  t.equal(await page.evaluate(() => sessionStorage.getItem('labclimate.readKey')), reader, 'the key is kept in sessionStorage')
  t.ok(await page.locator('#key-form').isHidden(), 'the key form is gone once the key works')
  t.ok(await page.locator('#labs').isVisible())

  // Sorting by temperature, both ways; searching by id.
  const firstId = async (): Promise<string | null> => await page.locator('#labs tbody tr').first().getAttribute('data-lab-id')
  await page.locator('th[data-key="avg_temperature_c"] button').click()
  t.equal(await firstId(), String(cold.id), 'coldest first')
  await page.locator('th[data-key="avg_temperature_c"] button').click()
  t.equal(await firstId(), String(office.id), 'warmest first')
  await page.locator('#search').fill(String(cold.id))
  const matching = [office, cold].filter((l) => String(l.id).includes(String(cold.id))).map((l) => String(l.id)).sort()
  const shown = await page.locator('#labs tbody tr').evaluateAll((rows) =>
    rows.map((r) => (r as unknown as { dataset: { labId?: string } }).dataset.labId ?? ''))
  t.same(shown.sort(), matching, 'search keeps the labs whose id matches')
  await page.locator('#search').fill('999999')
  t.equal(await page.locator('#labs tbody tr').count(), 0, 'and none when nothing matches')
  await page.locator('#search').fill('')

  // The chart of the office: one point per minute, then per hour, and drawn lines in both colours.
  const minutes = new Set(stamps.map((s) => Math.floor(s / MINUTE_MS))).size
  const hours = new Set(stamps.map((s) => Math.floor(s / HOUR_MS))).size
  await row(office.id).click()
  await page.locator(`#chart[data-lab-id="${office.id}"][data-resolution="minute"] canvas`).waitFor({ timeout: 10_000 })
  t.equal(Number(await page.locator('#chart').getAttribute('data-points')), minutes, `minute resolution: ${minutes} points`)
  const inked = async (): Promise<{ orange: number, blue: number }> => await page.locator('#chart canvas').evaluate((canvas) => {
    // No DOM types in this project's TypeScript: the canvas API as far as it is used here.
    const c = canvas as unknown as {
      width: number
      height: number
      getContext: (kind: '2d') => { getImageData: (x: number, y: number, w: number, h: number) => { data: Uint8ClampedArray } }
    }
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
    let orange = 0
    let blue = 0
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b, a] = [data[i] as number, data[i + 1] as number, data[i + 2] as number, data[i + 3] as number]
      if (a < 128) continue
      if (r > 180 && g > 40 && g < 120 && b < 60) orange++
      if (r < 80 && g > 90 && g < 160 && b > 180) blue++
    }
    return { orange, blue }
  })
  const minuteInk = await inked()
  t.ok(minuteInk.orange > 100 && minuteInk.blue > 100, `the temperature and humidity lines are drawn (${JSON.stringify(minuteInk)})`)
  t.match(await page.locator('#chart-title').textContent(), `Lab ${office.id}: Office (A1)`)
  await page.locator('#resolution').selectOption('hour')
  await page.locator('#chart[data-resolution="hour"] canvas').waitFor({ timeout: 10_000 })
  t.equal(Number(await page.locator('#chart').getAttribute('data-points')), hours, `hour resolution: ${hours} points`)
  const hourInk = await inked()
  t.ok(hourInk.orange > 50 && hourInk.blue > 50, `hour lines drawn (${JSON.stringify(hourInk)})`)

  // A wrong key sends the person back to the form.
  await page.evaluate(() => { sessionStorage.setItem('labclimate.readKey', 'lc_wrong') })
  await page.reload()
  await page.locator('#key-form:not([hidden])').waitFor({ timeout: 10_000 })
  t.match(await page.locator('#status').textContent(), /refused \(401\)/)
  t.same(problems.filter((p) => !/401/.test(p)), [], 'no script errors and no CSP violations')
})

t.test('in Chromium: Swagger UI at /docs renders every operation under its CSP', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed`
}, async (t) => {
  const api = await buildTestApp(t)
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  const address = api.app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const doc = (await api.app.inject('/openapi.json')).json<{ paths: Record<string, Record<string, unknown>> }>()
  const operations = Object.values(doc.paths).reduce((n, byMethod) => n + Object.keys(byMethod).length, 0)
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage()
  const problems: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()) })
  page.on('pageerror', (e) => { problems.push(e.message) })
  await page.goto(`${base}/docs`)
  await page.locator('.opblock').first().waitFor({ timeout: 15_000 })
  t.equal(await page.locator('.opblock').count(), operations, `all ${operations} operations are shown`)
  t.equal(await page.locator('.btn.authorize').count(), 1, 'with the Authorize button (the bearer scheme)')
  t.same(problems, [], 'no script errors and no CSP violations')
})
