/**
 * Business metrics as CloudWatch Embedded Metric Format: one JSON line on stdout every
 * few seconds, which CloudWatch Logs turns into metrics (no agent, no PutMetricData calls
 * on the hot path). Namespace `Labclimate`, dimension `Service`. Names are a contract with
 * the alarms and dashboard in infra/: see docs/operations.md.
 */
export const METRIC_NAMESPACE = 'Labclimate'

export type MetricName =
  | 'ReadingsAccepted' | 'ReadingsRejected' | 'ReadingsOutOfRange'
  | 'ReadingsStored' | 'BatchDurationMs' | 'EndToEndLagMs' | 'WorkerErrors' | 'LabsReporting24h'

const UNITS: Record<MetricName, 'Count' | 'Milliseconds'> = {
  ReadingsAccepted: 'Count',
  ReadingsRejected: 'Count',
  ReadingsOutOfRange: 'Count',
  ReadingsStored: 'Count',
  BatchDurationMs: 'Milliseconds',
  EndToEndLagMs: 'Milliseconds',
  WorkerErrors: 'Count',
  LabsReporting24h: 'Count'
}

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
  service: 'api' | 'worker'
  write: (line: string) => void
  flushMs?: number
  now?: () => number
  random?: () => number
}

export function createEmfMetrics ({ service, write, flushMs = 10_000, now = Date.now, random = Math.random }: EmfOptions): Metrics {
  let counts = new Map<MetricName, number>()
  let gauges = new Map<MetricName, number>()
  // Reservoir samples per distribution, so percentiles stay unbiased however many values arrive.
  let samples = new Map<MetricName, { values: number[], seen: number }>()

  const flush = (): void => {
    const names = new Set<MetricName>([...counts.keys(), ...gauges.keys(), ...samples.keys()])
    if (names.size === 0) return
    const line: Record<string, unknown> = {
      _aws: {
        Timestamp: now(),
        CloudWatchMetrics: [{ Namespace: METRIC_NAMESPACE, Dimensions: [['Service']], Metrics: [...names].map((n) => ({ Name: n, Unit: UNITS[n] })) }]
      },
      Service: service
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
