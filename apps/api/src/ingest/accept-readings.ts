import { parseReadingItems, type Rejection } from '@labclimate/contract'
import type { ReadingsProducer } from '@labclimate/queue'
import { HttpProblem } from '../http/problem.ts'
import type { LabDirectory } from '../plugins/lab-directory.ts'

export interface IngestOutcome {
  accepted: number
  /** the first MAX_LISTED_PROBLEMS refused items */
  rejected: Rejection[]
  rejectedCount: number
  outOfRangeCount: number
}

export interface IngestDeps {
  labDirectory: LabDirectory
  producer: ReadingsProducer
  nowMs: number
  /** the one lab the caller's device key may write */
  keyLabId: number
}

const plural = (n: number, one: string, many: string): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`

/**
 * Checks every item in one pass, refuses readings of other labs than the key's and of labs that
 * do not exist, and resolves only once the rest are durably on the queue (EnqueueError otherwise).
 * A body with items that are not objects is refused whole (400), as its schema says.
 */
export async function acceptReadings (deps: IngestDeps, items: readonly unknown[], labId?: number): Promise<IngestOutcome> {
  const labExists = (await deps.labDirectory.existing([deps.keyLabId])).has(deps.keyLabId)
  const parsed = parseReadingItems(items, deps.nowMs, {
    ...(labId === undefined ? {} : { labId }),
    admit: (reading) => {
      if (reading.labId !== deps.keyLabId) return `lab_id ${reading.labId}: this API key may write only lab ${deps.keyLabId}`
      if (!labExists) return `lab ${reading.labId} does not exist; create it with POST /labs first`
      return undefined
    }
  })
  if (parsed.notObjectCount > 0) {
    const first = parsed.notObjects[0] as number
    const listed = parsed.notObjectCount > parsed.notObjects.length ? `; the first ${parsed.notObjects.length} are listed` : ''
    const items = plural(parsed.notObjectCount, 'item is not an object', 'items are not objects')
    throw new HttpProblem(400, `body/${first} must be object: ${items} (a reading is an object)${listed}.`, {
      errors: parsed.notObjects.map((index) => ({ index, path: `/${index}`, in: 'body', message: 'must be object' })),
      errorsTotal: parsed.notObjectCount
    })
  }
  await deps.producer.enqueue(parsed.readings)
  return { accepted: parsed.readings.length, rejected: parsed.rejected, rejectedCount: parsed.rejectedCount, outOfRangeCount: parsed.outOfRangeCount }
}
