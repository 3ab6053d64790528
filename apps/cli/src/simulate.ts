// `labclimate simulate`: a fleet of lab devices posting readings to a labclimate API.
// Day mode posts each lab's day batch (2,880 readings at 30 s, as devices do at 23:00); live mode posts one
// reading per lab every interval. Temperatures and humidities follow a daily curve with noise.
import { parseArgs, promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { DAY_MS } from '@labclimate/config'

const gzipAsync = promisify(gzip)

export const READINGS_PER_DAY = 2880
export const STEP_MS = 30_000

export interface SimulateOptions {
  url: string
  mode: 'day' | 'live'
  labs: number
  /** day mode: how many past days each lab uploads (1 = the last 24 h) */
  days: number
  /** requests per second across the fleet (0 = as fast as `concurrency` allows) */
  rate: number
  /** live mode: seconds between a lab's readings (when rate is 0) */
  interval: number
  /** seconds after which the run stops, whatever is left */
  duration: number
  concurrency: number
  seed: number
  json: boolean
  /** send bodies with `Content-Encoding: gzip` (the CLI's default; `--no-gzip` sends plain JSON) */
  gzip?: boolean
}

export interface Summary {
  mode: 'day' | 'live'
  labs: number
  lab_ids: number[]
  requests: number
  readings_sent: number
  readings_accepted: number
  readings_rejected: number
  /** answers that were not 202, by status ("network" for no answer) */
  errors: Record<string, number>
  elapsed_s: number
  readings_per_s: number
  requests_per_s: number
  /** request body bytes on the wire (gzipped when gzip is on) */
  body_bytes_sent: number
  gzip: boolean
  /** what each lab had accepted: the sum of its accepted values, to check averages against */
  per_lab: Array<{ lab_id: number, accepted: number, sum_temperature_c: number, sum_humidity_pct: number }>
}

export interface Fleet {
  /** lab id → device key */
  labs: Array<{ labId: number, deviceKey: string }>
}

export const SIMULATE_USAGE = [
  'labclimate simulate [--url http://localhost:3000] (--admin-key <key> | DATABASE_URL=…) [options]',
  '',
  'options:',
  '  --url <url>           the API (default http://localhost:3000)',
  '  --admin-key <key>     create the labs and their device keys through the API with this admin key;',
  '                        without it they are created in DATABASE_URL directly',
  '  --mode day|live       day: one day batch of 2,880 readings per lab and day (default);',
  '                        live: one reading per lab every --interval seconds, stamped now',
  '  --labs <n>            how many labs (devices) to simulate (default 10)',
  '  --days <n>            day mode: upload the last n days per lab, 1–6 (default 1)',
  '  --rate <r>            at most r requests per second across the fleet (default 0: as fast as --concurrency allows;',
  '                        in live mode 0 means every lab every --interval seconds)',
  '  --interval <s>        live mode: seconds between a lab\'s readings (default 30)',
  '  --duration <s>        stop after s seconds (default: day 600, live 60)',
  '  --concurrency <n>     requests in flight at most (default 4)',
  '  --seed <n>            random seed for the curves and noise (default 1)',
  '  --no-gzip             send plain JSON bodies (default: gzip, Content-Encoding: gzip, ~8x fewer bytes)',
  '  --json                print the summary as JSON on stdout (progress stays on stderr)'
].join('\n')

export class SimulateUsageError extends Error {
  override name = 'UsageError'
}

const number = (name: string, text: string | undefined, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = {}): number => {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new SimulateUsageError(`${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`)
  }
  return value
}

export function parseSimulateArgs (args: string[]): SimulateOptions & { adminKey: string | undefined } {
  let parsed
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      allowNegative: true,
      options: {
        url: { type: 'string' },
        'admin-key': { type: 'string' },
        mode: { type: 'string' },
        labs: { type: 'string' },
        days: { type: 'string' },
        rate: { type: 'string' },
        interval: { type: 'string' },
        duration: { type: 'string' },
        concurrency: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
        gzip: { type: 'boolean' }
      }
    })
  } catch (error) {
    throw new SimulateUsageError((error as Error).message)
  }
  const v = parsed.values
  const mode = v.mode ?? 'day'
  if (mode !== 'day' && mode !== 'live') throw new SimulateUsageError('--mode must be day or live')
  const url = v.url ?? 'http://localhost:3000'
  if (!/^https?:\/\/[^/]+/.test(url)) throw new SimulateUsageError('--url must be an http(s) URL')
  return {
    url: url.replace(/\/+$/, ''),
    adminKey: v['admin-key'],
    mode,
    labs: number('--labs', v.labs, 10, { min: 1, max: 100_000 }),
    days: number('--days', v.days, 1, { min: 1, max: 6 }),
    rate: number('--rate', v.rate, 0, { integer: false, max: 100_000 }),
    interval: number('--interval', v.interval, 30, { min: 0.01, integer: false, max: 3600 }),
    duration: number('--duration', v.duration, mode === 'day' ? 600 : 60, { min: 0.1, integer: false, max: 86_400 }),
    concurrency: number('--concurrency', v.concurrency, 4, { min: 1, max: 256 }),
    seed: number('--seed', v.seed, 1),
    json: v.json === true,
    gzip: v.gzip !== false
  }
}

/** mulberry32: small, fast, seedable. */
export function random (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One lab's climate: a daily curve (warmest mid-afternoon) with noise. Every eighth lab is a cold room. */
export function labClimate (index: number, seed: number): (atMs: number) => { temperature: number, humidity: number } {
  const rnd = random(seed * 1_000_003 + index)
  const cold = index % 8 === 7
  const baseT = cold ? 4 + rnd() * 2 : 19 + rnd() * 4
  const ampT = cold ? 0.4 : 1 + rnd() * 1.5
  const baseH = cold ? 78 + rnd() * 6 : 38 + rnd() * 14
  const ampH = cold ? 2 : 3 + rnd() * 4
  const round1 = (x: number): number => Math.round(x * 10) / 10
  return (atMs) => {
    const hour = (atMs % DAY_MS) / 3_600_000
    const phase = Math.sin(2 * Math.PI * (hour - 9) / 24)
    const noise = (): number => (rnd() + rnd() + rnd() - 1.5) / 1.5
    return {
      temperature: round1(baseT + ampT * phase + 0.15 * noise()),
      humidity: Math.min(100, Math.max(0, round1(baseH - ampH * phase + 0.8 * noise())))
    }
  }
}

interface Job { labIndex: number, readings: Array<{ timestamp: number, temperature: number, humidity: number }> }

/** Day batches: for each day back (oldest first), every lab's 2,880 readings ending at the last 30 s step. */
function * dayJobs (options: SimulateOptions, now: number, climates: Array<ReturnType<typeof labClimate>>): Generator<Job> {
  const end = Math.floor(now / STEP_MS) * STEP_MS - STEP_MS
  for (let day = options.days - 1; day >= 0; day--) {
    const last = end - day * DAY_MS
    for (let labIndex = 0; labIndex < options.labs; labIndex++) {
      const climate = climates[labIndex] as ReturnType<typeof labClimate>
      const readings = []
      for (let i = READINGS_PER_DAY - 1; i >= 0; i--) {
        const timestamp = last - i * STEP_MS
        readings.push({ timestamp, ...climate(timestamp) })
      }
      yield { labIndex, readings }
    }
  }
}

export interface SimulateDeps {
  fetch: typeof fetch
  now: () => number
  sleep: (ms: number) => Promise<void>
  /** progress output (stderr); a TTY gets a bar redrawn in place */
  progress: { write: (text: string) => void, isTTY: boolean }
}

function bar (done: number, total: number, width = 28): string {
  const share = total === 0 ? 1 : Math.min(1, done / total)
  const full = Math.round(share * width)
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(share * 100).toFixed(0).padStart(3)}%`
}

/** Runs the fleet against the API until every batch is sent (day) or the duration is over. */
export async function simulate (options: SimulateOptions, fleet: Fleet, deps: SimulateDeps): Promise<Summary> {
  const started = deps.now()
  const deadline = started + options.duration * 1000
  const climates = fleet.labs.map((_, i) => labClimate(i, options.seed))
  const perLab = fleet.labs.map((l) => ({ lab_id: l.labId, accepted: 0, sum_temperature_c: 0, sum_humidity_pct: 0 }))
  const summary: Summary = {
    mode: options.mode,
    labs: fleet.labs.length,
    lab_ids: fleet.labs.map((l) => l.labId),
    requests: 0,
    readings_sent: 0,
    readings_accepted: 0,
    readings_rejected: 0,
    errors: {},
    elapsed_s: 0,
    readings_per_s: 0,
    requests_per_s: 0,
    body_bytes_sent: 0,
    gzip: options.gzip === true,
    per_lab: perLab
  }
  const totalJobs = options.mode === 'day' ? options.days * options.labs : undefined
  const intervalMs = options.rate > 0 ? 1000 / options.rate : options.mode === 'live' ? (options.interval * 1000) / options.labs : 0

  // Jobs: a finite list of day batches, or an endless round of live readings (one lab at a time).
  let liveTurn = 0
  const lastStamp = new Map<number, number>()
  const days = options.mode === 'day' ? dayJobs(options, started, climates) : undefined
  const nextJob = (): Job | undefined => {
    if (days !== undefined) { const n = days.next(); return n.done === true ? undefined : n.value }
    const labIndex = liveTurn++ % options.labs
    const timestamp = Math.max(deps.now(), (lastStamp.get(labIndex) ?? 0) + 1)
    lastStamp.set(labIndex, timestamp)
    return { labIndex, readings: [{ timestamp, ...(climates[labIndex] as ReturnType<typeof labClimate>)(timestamp) }] }
  }

  let lastDraw = 0
  const draw = (final = false): void => {
    const t = deps.now()
    if (!final && t - lastDraw < (deps.progress.isTTY ? 100 : 2000)) return
    lastDraw = t
    const elapsed = Math.max(0.001, (t - started) / 1000)
    const errors = Object.values(summary.errors).reduce((a, b) => a + b, 0)
    const done = totalJobs === undefined ? bar(t - started, deadline - started) : `${bar(summary.requests, totalJobs)} ${summary.requests}/${totalJobs} batches`
    const line = `${done}  ${summary.readings_accepted} readings accepted  ${(summary.readings_accepted / elapsed).toFixed(0)}/s  errors ${errors}`
    deps.progress.write(deps.progress.isTTY ? `\r${line}\u001b[K${final ? '\n' : ''}` : `${line}\n`)
  }

  let scheduled = 0
  const worker = async (): Promise<void> => {
    for (;;) {
      if (deps.now() >= deadline) return
      // Pace: request k starts no earlier than started + k × interval.
      const slot = started + scheduled++ * intervalMs
      if (intervalMs > 0 && slot > deps.now()) {
        if (slot >= deadline) return
        await deps.sleep(slot - deps.now())
      }
      const job = nextJob()
      if (job === undefined) return
      const lab = fleet.labs[job.labIndex] as Fleet['labs'][number]
      summary.requests++
      summary.readings_sent += job.readings.length
      try {
        const json = JSON.stringify(job.readings)
        const payload = options.gzip === true ? await gzipAsync(json) : json
        summary.body_bytes_sent += Buffer.byteLength(payload)
        const response = await deps.fetch(`${options.url}/labs/${lab.labId}/readings`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${lab.deviceKey}`,
            ...(options.gzip === true ? { 'content-encoding': 'gzip' } : {})
          },
          body: payload
        })
        const body = await response.json().catch(() => undefined) as { accepted?: number, rejected?: Array<{ index: number }> } | undefined
        if (response.status === 202 && body !== undefined) {
          const refused = new Set((body.rejected ?? []).map((r) => r.index))
          summary.readings_accepted += body.accepted ?? 0
          summary.readings_rejected += refused.size
          const tally = perLab[job.labIndex] as Summary['per_lab'][number]
          job.readings.forEach((r, i) => {
            if (refused.has(i)) return
            tally.accepted++
            tally.sum_temperature_c += r.temperature
            tally.sum_humidity_pct += r.humidity
          })
        } else {
          summary.errors[String(response.status)] = (summary.errors[String(response.status)] ?? 0) + 1
        }
      } catch {
        summary.errors.network = (summary.errors.network ?? 0) + 1
      }
      draw()
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  const elapsed = Math.max(0.001, (deps.now() - started) / 1000)
  summary.elapsed_s = Math.round(elapsed * 1000) / 1000
  summary.readings_per_s = Math.round(summary.readings_accepted / elapsed * 10) / 10
  summary.requests_per_s = Math.round(summary.requests / elapsed * 10) / 10
  for (const tally of perLab) {
    tally.sum_temperature_c = Math.round(tally.sum_temperature_c * 10) / 10
    tally.sum_humidity_pct = Math.round(tally.sum_humidity_pct * 10) / 10
  }
  draw(true)
  return summary
}

export function formatSummary (s: Summary): string {
  const errors = Object.entries(s.errors)
  return [
    `simulated ${s.labs} labs (${s.mode} mode) in ${s.elapsed_s.toFixed(1)} s`,
    `  requests:  ${s.requests} (${s.requests_per_s}/s)`,
    `  readings:  ${s.readings_sent} sent, ${s.readings_accepted} accepted, ${s.readings_rejected} rejected`,
    `  rate:      ${s.readings_per_s} readings/s accepted`,
    `  bodies:    ${s.body_bytes_sent} bytes${s.gzip ? ' (gzip)' : ''}, ${s.requests === 0 ? 0 : Math.round(s.body_bytes_sent / s.requests)} per request`,
    `  errors:    ${errors.length === 0 ? 'none' : errors.map(([status, n]) => `${n} × ${status}`).join(', ')}`,
    `  labs:      ${s.lab_ids.length <= 10 ? s.lab_ids.join(', ') : `${s.lab_ids.slice(0, 10).join(', ')}, … (${s.lab_ids.length})`}`
  ].join('\n')
}

/** Creates the labs and one device key each through the API, with an admin key. */
export async function createFleetThroughApi (url: string, adminKey: string, labs: number, doFetch: typeof fetch, stamp: string): Promise<Fleet> {
  const call = async <T>(path: string, body: unknown): Promise<T> => {
    const response = await doFetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify(body)
    })
    if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`)
    return await response.json() as T
  }
  const fleet: Fleet = { labs: [] }
  for (let i = 0; i < labs; i++) {
    const lab = await call<{ id: number }>('/labs', { name: `Simulated lab ${i + 1} (${stamp})`, address: `Sim building, room ${i + 1}` })
    const key = await call<{ key: string }>('/keys', { role: 'device', lab_id: lab.id, label: `simulator device of lab ${lab.id}` })
    fleet.labs.push({ labId: lab.id, deviceKey: key.key })
  }
  return fleet
}
