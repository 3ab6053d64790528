import t from 'tap'
import { createEmfMetrics } from '../src/index.ts'

t.test('one EMF line per flush, with counts summed, gauges last, samples capped at 100', async (t) => {
  const lines: string[] = []
  const m = createEmfMetrics({ service: 'worker', write: (l) => lines.push(l), flushMs: 60_000, now: () => 1764111600000, random: () => 0.999 })
  m.flush()
  t.equal(lines.length, 0, 'nothing recorded, nothing written')
  m.count('ReadingsStored', 2880); m.count('ReadingsStored', 120); m.count('WorkerErrors')
  m.gauge('LabsReporting24h', 41000); m.gauge('LabsReporting24h', 42000)
  for (let i = 1; i <= 250; i++) m.observe('EndToEndLagMs', i)
  m.close()
  t.equal(lines.length, 1)
  const line = JSON.parse(lines[0] ?? '{}')
  t.same(line._aws, {
    Timestamp: 1764111600000,
    CloudWatchMetrics: [{
      Namespace: 'Labclimate',
      Dimensions: [['Service']],
      Metrics: [{ Name: 'ReadingsStored', Unit: 'Count' }, { Name: 'WorkerErrors', Unit: 'Count' }, { Name: 'LabsReporting24h', Unit: 'Count' }, { Name: 'EndToEndLagMs', Unit: 'Milliseconds' }]
    }]
  })
  t.equal(line.Service, 'worker')
  t.equal(line.ReadingsStored, 3000)
  t.equal(line.WorkerErrors, 1)
  t.equal(line.LabsReporting24h, 42000)
  // random() = 0.999 never replaces a kept sample: the first 100 values stay.
  t.same(line.EndToEndLagMs, Array.from({ length: 100 }, (_, i) => i + 1))
})
