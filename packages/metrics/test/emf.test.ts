import t from 'tap'
import { createEmfMetrics, readEmfLine } from '../src/index.ts'

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
      Dimensions: [['Service', 'Stage']],
      Metrics: [
        { Name: 'ReadingsStored', Unit: 'Count' },
        { Name: 'WorkerErrors', Unit: 'Count' },
        { Name: 'LabsReporting24h', Unit: 'Count' },
        { Name: 'EndToEndLagMs', Unit: 'Milliseconds' }
      ]
    }]
  })
  t.equal(line.Service, 'worker')
  t.equal(line.Stage, 'local', 'Stage defaults to local')
  t.equal(line.ReadingsStored, 3000)
  t.equal(line.WorkerErrors, 1)
  t.equal(line.LabsReporting24h, 42000)
  // random() = 0.999 never replaces a kept sample: the first 100 values stay.
  t.same(line.EndToEndLagMs, Array.from({ length: 100 }, (_, i) => i + 1))
})

t.test('the Stage dimension is the deployment; readEmfLine reads a line as CloudWatch would', async (t) => {
  const lines: string[] = []
  const m = createEmfMetrics({ service: 'maintenance', stage: 'prod', write: (l) => lines.push(l), flushMs: 60_000, now: () => 1 })
  m.gauge('LabsRegistered', 40000)
  m.observe('BatchDurationMs', 12)
  m.close()
  t.same(readEmfLine(lines[0] ?? ''), [
    { namespace: 'Labclimate', name: 'LabsRegistered', unit: 'Count', dimensions: { Service: 'maintenance', Stage: 'prod' }, values: [40000] },
    { namespace: 'Labclimate', name: 'BatchDurationMs', unit: 'Milliseconds', dimensions: { Service: 'maintenance', Stage: 'prod' }, values: [12] }
  ])
  t.same(readEmfLine('{"level":30,"msg":"batch stored"}'), [], 'a log line is no metric')
  t.same(readEmfLine('not json'), [])
  t.throws(() => createEmfMetrics({ service: 'api', stage: 'my stage', write: () => {} }), /not a valid dimension value/)
})
