import { parseReadingItems, type Reading, type Rejection } from '@labclimate/contract'
import type { ReadingsProducer } from '@labclimate/queue'
import type { LabDirectory } from '../plugins/lab-directory.ts'

export interface IngestOutcome {
  accepted: number
  rejected: Rejection[]
}

export interface IngestDeps {
  labDirectory: LabDirectory
  producer: ReadingsProducer
  nowMs: number
}

/**
 * Checks every item, refuses readings of labs that do not exist, and resolves
 * only once the rest are durably on the queue (EnqueueError otherwise).
 */
export async function acceptReadings (deps: IngestDeps, items: readonly unknown[], labId?: number): Promise<IngestOutcome> {
  const { readings, indexes, rejected } = parseReadingItems(items, deps.nowMs, labId)
  const existing = await deps.labDirectory.existing(new Set(readings.map((r) => r.labId)))
  let accepted: Reading[] = readings
  if (existing.size < new Set(readings.map((r) => r.labId)).size) {
    accepted = []
    readings.forEach((reading, i) => {
      if (existing.has(reading.labId)) accepted.push(reading)
      else rejected.push({ index: indexes[i] as number, reason: `lab ${reading.labId} does not exist; create it with POST /labs first` })
    })
    rejected.sort((a, b) => a.index - b.index)
  }
  await deps.producer.enqueue(accepted)
  return { accepted: accepted.length, rejected }
}
