/**
 * Business metrics as CloudWatch Embedded Metric Format: one JSON line on stdout every
 * few seconds, which CloudWatch Logs turns into metrics (no agent, no PutMetricData calls
 * on the hot path). This module is the one source of the names: the apps emit them and
 * infra/lib/constructs/monitoring.ts builds its alarms and dashboard from the same constants, so a
 * renamed metric cannot leave an alarm watching nothing (infra/test/alarm-contract.test.ts).
 */
export const METRIC_NAMESPACE = 'Labclimate'

/** Every business metric carries both: which process emitted it, and which deployment. */
export const METRIC_DIMENSIONS = ['Service', 'Stage'] as const

export type MetricService = 'api' | 'worker' | 'maintenance'
export type MetricUnit = 'Count' | 'Milliseconds'

/** Each metric, its unit and the one service that emits it (the alarm's Service dimension). */
export const METRICS = {
  ReadingsAccepted: { unit: 'Count', service: 'api' },
  ReadingsRejected: { unit: 'Count', service: 'api' },
  /** Refused by the API for a value outside the allowed climate range. */
  ReadingsOutOfRange: { unit: 'Count', service: 'api' },
  /** 1 when the API's periodic probe reached the database, 0 when it did not (the ALB checks liveness only). */
  DatabaseReady: { unit: 'Count', service: 'api' },
  /** 1 when the API's periodic probe reached the queue, 0 when it did not. */
  QueueReady: { unit: 'Count', service: 'api' },
  ReadingsStored: { unit: 'Count', service: 'worker' },
  BatchDurationMs: { unit: 'Milliseconds', service: 'worker' },
  EndToEndLagMs: { unit: 'Milliseconds', service: 'worker' },
  /** Messages not stored, poison messages, consumer errors, and each retry while the database is unreachable. */
  WorkerErrors: { unit: 'Count', service: 'worker' },
  /** Labs with hour rollups in the past 24 h (a live view; the nightly completeness check is below). */
  LabsReporting24h: { unit: 'Count', service: 'worker' },
  MaintenanceSucceeded: { unit: 'Count', service: 'maintenance' },
  MaintenanceFailed: { unit: 'Count', service: 'maintenance' },
  /** Labs whose last nightly upload window holds every reading (see apps/worker/src/completeness.ts). */
  LabsCompleteLastUpload: { unit: 'Count', service: 'maintenance' },
  /** Labs that existed for the whole of that window: the denominator of the completeness ratio. */
  LabsRegistered: { unit: 'Count', service: 'maintenance' }
} as const satisfies Record<string, { unit: MetricUnit, service: MetricService }>

export type MetricName = keyof typeof METRICS

/** Stage names are dimension values: short, no spaces. */
export const STAGE_PATTERN = /^[A-Za-z0-9_-]{1,32}$/
export const DEFAULT_STAGE = 'local'

/** EMF takes at most 100 values per metric and line. */
const MAX_SAMPLES = 100

export interface Metrics {
  count: (name: MetricName, n?: number) => void
  observe: (name: MetricName, value: number) => void
  gauge: (name: MetricName, value: number) => void
  /** Writes what was recorded since the last flush (nothing if nothing was). */
  flush: () => void
  close: () => void
}

export interface EmfOptions {
  service: MetricService
  /** The Stage dimension (env STAGE; "local" by default). */
  stage?: string
  write: (line: string) => void
  flushMs?: number
  now?: () => number
  random?: () => number
}

export function createEmfMetrics ({ service, stage = DEFAULT_STAGE, write, flushMs = 10_000, now = Date.now, random = Math.random }: EmfOptions): Metrics {
  if (!STAGE_PATTERN.test(stage)) throw new Error(`stage "${stage}" is not a valid dimension value (${String(STAGE_PATTERN)})`)
  let counts = new Map<MetricName, number>()
  let gauges = new Map<MetricName, number>()
  // Reservoir samples per distribution, so percentiles stay unbiased however many values arrive.
  let samples = new Map<MetricName, { values: number[], seen: number }>()

  const flush = (): void => {
    const names = new Set<MetricName>([...counts.keys(), ...gauges.keys(), ...samples.keys()])
    if (names.size === 0) return
    const definitions = [...names].map((n) => ({ Name: n, Unit: METRICS[n].unit }))
    const line: Record<string, unknown> = {
      _aws: {
        Timestamp: now(),
        CloudWatchMetrics: [{ Namespace: METRIC_NAMESPACE, Dimensions: [[...METRIC_DIMENSIONS]], Metrics: definitions }]
      },
      Service: service,
      Stage: stage
    }
    for (const [n, v] of counts) line[n] = v
    for (const [n, v] of gauges) line[n] = v
    for (const [n, s] of samples) line[n] = s.values
    counts = new Map(); gauges = new Map(); samples = new Map()
    write(JSON.stringify(line))
  }
  const timer = setInterval(flush, flushMs)
  timer.unref()

  return {
    count: (name, n = 1) => { counts.set(name, (counts.get(name) ?? 0) + n) },
    gauge: (name, value) => { gauges.set(name, value) },
    observe: (name, value) => {
      const s = samples.get(name) ?? { values: [], seen: 0 }
      s.seen++
      if (s.values.length < MAX_SAMPLES) s.values.push(value)
      else {
        const slot = Math.floor(random() * s.seen)
        if (slot < MAX_SAMPLES) s.values[slot] = value
      }
      samples.set(name, s)
    },
    flush,
    close: () => { clearInterval(timer); flush() }
  }
}

/** For tests and for METRICS_EMF=false. */
export const noMetrics: Metrics = { count: () => {}, observe: () => {}, gauge: () => {}, flush: () => {}, close: () => {} }

/** One metric as CloudWatch would extract it from an EMF line. */
export interface EmfDatum {
  namespace: string
  name: string
  unit: string
  dimensions: Record<string, string>
  /** A count or gauge is one value; a distribution is its samples. */
  values: number[]
}

/** One `_aws.CloudWatchMetrics` entry of an EMF line. */
interface EmfDirective { Namespace: string, Dimensions: string[][], Metrics: Array<{ Name: string, Unit?: string }> }

/**
 * Reads an EMF line the way CloudWatch Logs does (namespace, dimension sets, values from the
 * root members); lines that are not EMF give []. Tests use it on the apps' captured stdout.
 */
export function readEmfLine (line: string): EmfDatum[] {
  let doc: unknown
  try { doc = JSON.parse(line) } catch { return [] }
  if (typeof doc !== 'object' || doc === null) return []
  const root = doc as Record<string, unknown>
  const aws = root._aws as { CloudWatchMetrics?: EmfDirective[] } | undefined
  if (aws?.CloudWatchMetrics === undefined) return []
  const out: EmfDatum[] = []
  for (const directive of aws.CloudWatchMetrics) {
    for (const set of directive.Dimensions) {
      const dimensions = Object.fromEntries(set.map((d) => [d, String(root[d])]))
      for (const m of directive.Metrics) {
        const v = root[m.Name]
        out.push({ namespace: directive.Namespace, name: m.Name, unit: m.Unit ?? 'None', dimensions, values: Array.isArray(v) ? v.map(Number) : [Number(v)] })
      }
    }
  }
  return out
}
