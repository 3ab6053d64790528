import { Match } from 'aws-cdk-lib/assertions'
import t from 'tap'
import { synth } from './helper.ts'

// CDK synth (and cfn-lint) on a shared 2-core machine: allow more than tap's default 120 s.
t.setTimeout(300_000)

const prod = synth('prod', { alarmEmail: 'ops@example.org' })
const tpl = prod.serviceTemplate
type Props = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
const alarms = Object.values(tpl.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties as Props)
const byName = (suffix: string): Props => alarms.find((a) => a.AlarmName === `labclimate-prod-${suffix}`) as Props
const topic = Object.keys(tpl.findResources('AWS::SNS::Topic'))[0] as string

t.test('every alarm notifies the encrypted SNS topic (alarm and OK)', async (t) => {
  t.equal(alarms.length, 7)
  tpl.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() })
  tpl.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.org' })
  tpl.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' } })]) } })
  for (const a of alarms) {
    t.same(a.AlarmActions, [{ Ref: topic }], `${a.AlarmName as string} alarm action`)
    t.same(a.OKActions, [{ Ref: topic }], `${a.AlarmName as string} OK action`)
    t.match(a.AlarmDescription, /Runbook: docs\/operations\.md#/)
  }
})

t.test('the alarms watch what the issue names', async (t) => {
  const dlq = byName('DlqNotEmpty')
  t.equal(dlq.MetricName, 'ApproximateNumberOfMessagesVisible')
  t.equal(dlq.Threshold, 0)
  t.equal(dlq.ComparisonOperator, 'GreaterThanThreshold')
  t.match(JSON.stringify(dlq.Dimensions), /ReadingsDlq/)
  t.equal(byName('OldestMessageAge').MetricName, 'ApproximateAgeOfOldestMessage')
  const rate = byName('Api5xxRate').Metrics as Props[]
  t.match(rate.find((m) => m.Expression !== undefined)?.Expression, /target5xx.*elb5xx.*requests/)
  t.same(rate.filter((m) => m.MetricStat !== undefined).map((m) => m.MetricStat.Metric.MetricName).sort(), ['HTTPCode_ELB_5XX_Count', 'HTTPCode_Target_5XX_Count', 'RequestCount'])
  const p99 = byName('ApiP99Latency')
  t.equal(p99.MetricName, 'TargetResponseTime')
  t.equal(p99.ExtendedStatistic, 'p99')
  for (const [name, metric, op] of [['WorkerErrors', 'WorkerErrors', 'GreaterThanThreshold'], ['LabsNotReporting', 'LabsReporting24h', 'LessThanThreshold']] as const) {
    const a = byName(name)
    t.equal(a.Namespace, 'Labclimate', `${name} in the Labclimate namespace`)
    t.equal(a.MetricName, metric)
    t.same(a.Dimensions, [{ Name: 'Service', Value: 'worker' }])
    t.equal(a.ComparisonOperator, op)
  }
  const range = byName('ReadingsOutOfRange')
  t.equal(range.Threshold, 0)
  t.equal(range.ComparisonOperator, 'GreaterThanThreshold')
  const parts = (range.Metrics as Props[]).filter((m) => m.MetricStat !== undefined).map((m) => m.MetricStat.Metric)
  t.same(parts.map((m) => [m.Namespace, m.MetricName, m.Dimensions[0].Value]).sort(), [['Labclimate', 'ReadingsOutOfRange', 'api'], ['Labclimate', 'ReadingsOutOfRange', 'worker']], 'out-of-range from the API and the worker, summed')
  t.match((range.Metrics as Props[]).find((m) => m.Expression !== undefined)?.Expression, /outOfRangeApi.*\+.*outOfRangeWorker/)
  t.equal(byName('LabsNotReporting').TreatMissingData, 'breaching', 'a silent worker counts as labs not reporting')
})

t.test('a dashboard of the same', async (t) => {
  tpl.resourceCountIs('AWS::CloudWatch::Dashboard', 1)
  const body = JSON.stringify(Object.values(tpl.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties.DashboardBody)
  for (const m of ['ReadingsAccepted', 'ReadingsRejected', 'ReadingsStored', 'BatchDurationMs', 'EndToEndLagMs', 'WorkerErrors', 'LabsReporting24h', 'ReadingsOutOfRange', 'ApproximateAgeOfOldestMessage', 'TargetResponseTime', 'ServerlessDatabaseCapacity']) {
    t.match(body, m, `dashboard shows ${m}`)
  }
  t.match(body, /alarm/, 'alarm status widget')
})
