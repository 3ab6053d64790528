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
  /** the one lab the caller's device key may write */
  keyLabId: number
}

/**
 * Checks every item, refuses readings of other labs than the key's and of labs
 * that do not exist, and resolves only once the rest are durably on the queue
 * (EnqueueError otherwise).
 */
export async function acceptReadings (deps: IngestDeps, items: readonly unknown[], labId?: number): Promise<IngestOutcome> {
  const { readings, indexes, rejected } = parseReadingItems(items, deps.nowMs, labId)
  const labExists = (await deps.labDirectory.existing([deps.keyLabId])).has(deps.keyLabId)
  const accepted: Reading[] = []
  readings.forEach((reading, i) => {
    const index = indexes[i] as number
    if (reading.labId !== deps.keyLabId) rejected.push({ index, reason: `lab_id ${reading.labId}: this API key may write only lab ${deps.keyLabId}` })
    else if (!labExists) rejected.push({ index, reason: `lab ${reading.labId} does not exist; create it with POST /labs first` })
    else accepted.push(reading)
  })
  if (accepted.length < readings.length) rejected.sort((a, b) => a.index - b.index)
  await deps.producer.enqueue(accepted)
  return { accepted: accepted.length, rejected }
}
