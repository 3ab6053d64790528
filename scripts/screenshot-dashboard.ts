// Writes docs/img/dashboard.png for the README: the dashboard in headless Chromium (Debian's /usr/bin/chromium,
// see scripts/install-chromium.sh) showing simulated labs and one lab's chart.
//
//   pnpm exec node scripts/screenshot-dashboard.ts                       # own stack: a fresh test database on the
//                                                                        # MariaDB the tests use, in-process SQS, 40 simulated labs
//   pnpm exec node scripts/screenshot-dashboard.ts --url http://localhost:3000 --key <read key> [--lab <id>]
//                                                                        # a running stack (pnpm dev + labclimate simulate)
//   options: --out <file.png> (default docs/img/dashboard.png)
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import app, { serverOptions } from '@labclimate/api'
import { createFleetThroughApi, simulate } from '@labclimate/cli/src/simulate.ts'
import { decodeMessage } from '@labclimate/contract'
import { storeReadings } from '@labclimate/store'
import { testAppBuilder } from '@labclimate/testkit/app'
import { REPO_ROOT } from '@labclimate/testkit/processes'
import { chromium } from 'playwright-core'

const { values } = parseArgs({ options: { url: { type: 'string' }, key: { type: 'string' }, lab: { type: 'string' }, out: { type: 'string' } } })
const out = values.out ?? join(REPO_ROOT, 'docs/img/dashboard.png')
const cleanups: Array<() => Promise<void> | void> = []
const buildTestApp = testAppBuilder({ app, serverOptions })

async function ownStack (): Promise<{ url: string, key: string, lab: number }> {
  const api = await buildTestApp({ teardown: (fn) => { cleanups.unshift(fn) } })
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  const address = api.app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const fleet = await createFleetThroughApi(url, api.admin.authorization.slice(7), 40, fetch, 'demo')
  const summary = await simulate({ url, mode: 'day', labs: 40, days: 1, rate: 0, interval: 30, duration: 300, concurrency: 4, seed: 3, json: false }, fleet, {
    fetch,
    now: Date.now,
    sleep: async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms)) },
    progress: { write: (s) => { process.stderr.write(s) }, isTTY: false }
  })
  // Store what is on the queue, as the worker would.
  for (;;) {
    const got = await api.queue.client.send(new ReceiveMessageCommand({ QueueUrl: api.queue.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
    const messages = got.Messages ?? []
    if (messages.length === 0) break
    await storeReadings(api.database.db, messages.flatMap((m) => decodeMessage(m.Body ?? '').readings))
    const entries = messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' }))
    await api.queue.client.send(new DeleteMessageBatchCommand({ QueueUrl: api.queue.queueUrl, Entries: entries }))
  }
  console.error(`stored ${summary.readings_accepted} readings of ${summary.labs} labs`)
  return { url, key: api.reader.authorization.slice(7), lab: fleet.labs[2]?.labId ?? 1 }
}

try {
  const stack = values.url !== undefined && values.key !== undefined
    ? { url: values.url.replace(/\/+$/, ''), key: values.key, lab: values.lab === undefined ? undefined : Number(values.lab) }
    : await ownStack()
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'
    ]
  })
  cleanups.unshift(async () => { await browser.close() })
  const page = await browser.newPage({ viewport: { width: 1100, height: 1000 }, deviceScaleFactor: 1 })
  await page.goto(`${stack.url}/dashboard`)
  await page.locator('#key').fill(stack.key)
  await page.locator('#key-form button[type=submit]').click()
  const rows = page.locator('#labs tbody tr')
  await rows.first().waitFor({ timeout: 15_000 })
  const row = stack.lab === undefined ? rows.first() : page.locator(`#labs tbody tr[data-lab-id="${stack.lab}"]`)
  await row.click()
  await page.locator('#chart canvas').waitFor({ timeout: 15_000 })
  await page.locator('#chart-section').scrollIntoViewIfNeeded()
  await mkdir(dirname(out), { recursive: true })
  await page.screenshot({ path: out, fullPage: true })
  console.log(`wrote ${out}`)
} finally {
  for (const cleanup of cleanups) await cleanup()
}
