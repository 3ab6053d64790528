import { Match } from 'aws-cdk-lib/assertions'
import t from 'tap'
import { hourCondition, utcHoursWithin } from '../lib/constructs/monitoring.ts'
import { synth } from './helper.ts'

// CDK synth (and cfn-lint) on a shared 2-core machine: allow more than tap's default 120 s.
t.setTimeout(300_000)

const prod = synth('prod', { alarmEmail: 'ops@example.org' })
const tpl = prod.serviceTemplate
type Props = Record<string, any>
const alarms = Object.values(tpl.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties as Props)
const byName = (suffix: string): Props => alarms.find((a) => a.AlarmName === `labclimate-prod-${suffix}`) as Props
const topic = Object.keys(tpl.findResources('AWS::SNS::Topic'))[0] as string

const ALARMS = ['DlqNotEmpty', 'OldestMessageAge', 'Api5xxRate', 'ApiP99Latency', 'ApiNoHealthyHosts', 'DatabaseNotReady', 'QueueNotReady',
  'WorkerErrors', 'LabsNotReporting', 'UploadIncomplete', 'MaintenanceFailed', 'MaintenanceNotRunning', 'QueueNotDrained', 'ReadingsOutOfRange',
  'AuroraCapacity', 'AuroraMemory', 'AuroraDeadlocks']

t.test('every alarm notifies the encrypted SNS topic (alarm and OK)', async (t) => {
  t.same(alarms.map((a) => a.AlarmName).sort(), ALARMS.map((n) => `labclimate-prod-${n}`).sort())
  tpl.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() })
  tpl.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.org' })
  tpl.hasResourceProperties('AWS::KMS::Key', {
    EnableKeyRotation: true,
    KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' } })]) }
  })
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
  t.same(rate.filter((m) => m.MetricStat !== undefined).map((m) => m.MetricStat.Metric.MetricName).sort(),
    ['HTTPCode_ELB_5XX_Count', 'HTTPCode_Target_5XX_Count', 'RequestCount'])
  const p99 = byName('ApiP99Latency')
  t.equal(p99.MetricName, 'TargetResponseTime')
  t.equal(p99.ExtendedStatistic, 'p99')
  const hosts = byName('ApiNoHealthyHosts')
  t.match(hosts, {
    Namespace: 'AWS/ApplicationELB',
    MetricName: 'HealthyHostCount',
    Statistic: 'Minimum',
    Threshold: 1,
    ComparisonOperator: 'LessThanThreshold',
    TreatMissingData: 'breaching'
  })
  t.same(hosts.Dimensions.map((d: Props) => d.Name).sort(), ['LoadBalancer', 'TargetGroup'])
  for (const [name, metric, service, op] of [
    ['WorkerErrors', 'WorkerErrors', 'worker', 'GreaterThanThreshold'],
    ['LabsNotReporting', 'LabsReporting24h', 'worker', 'LessThanThreshold'],
    ['DatabaseNotReady', 'DatabaseReady', 'api', 'LessThanThreshold'],
    ['QueueNotReady', 'QueueReady', 'api', 'LessThanThreshold'],
    ['MaintenanceFailed', 'MaintenanceFailed', 'maintenance', 'GreaterThanThreshold'],
    ['MaintenanceNotRunning', 'MaintenanceSucceeded', 'maintenance', 'LessThanThreshold'],
    ['ReadingsOutOfRange', 'ReadingsOutOfRange', 'api', 'GreaterThanThreshold']
  ] as const) {
    const a = byName(name)
    t.equal(a.Namespace, 'Labclimate', `${name} in the Labclimate namespace`)
    t.equal(a.MetricName, metric)
    t.same(a.Dimensions, [{ Name: 'Service', Value: service }, { Name: 'Stage', Value: 'prod' }], `${name}: emitted by ${service}, this stage`)
    t.equal(a.ComparisonOperator, op)
  }
  t.match(byName('MaintenanceNotRunning'), { Period: 3600, EvaluationPeriods: 3, DatapointsToAlarm: 3, Threshold: 1, TreatMissingData: 'breaching' },
    'three hours without a successful run, silence included')
  t.match(byName('DatabaseNotReady'), { Statistic: 'Minimum', Period: 60, EvaluationPeriods: 3, Threshold: 1 })
  t.equal(byName('ReadingsOutOfRange').Threshold, 0)
})

t.test('LabsNotReporting no longer reads the nightly gap as an outage', async (t) => {
  // The count dips to 0 from the upload hour - 1 until the burst is stored (~1.5 h); the best value of 3 h spans it.
  t.match(byName('LabsNotReporting'), { Statistic: 'Maximum', Period: 10800, EvaluationPeriods: 1, Threshold: 1, TreatMissingData: 'breaching' })
})

t.test('UploadIncomplete alarms on the share of registered labs with a complete upload window', async (t) => {
  const a = byName('UploadIncomplete')
  t.match(a, { Threshold: 0.99, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'breaching' })
  const metrics = a.Metrics as Props[]
  t.equal(metrics.find((m) => m.Expression !== undefined)?.Expression, 'IF(registered > 0, complete / registered, 1)')
  const parts = Object.fromEntries(metrics.filter((m) => m.MetricStat !== undefined).map((m) => [m.Id, m.MetricStat]))
  const dimensions = [{ Name: 'Service', Value: 'maintenance' }, { Name: 'Stage', Value: 'prod' }]
  t.match(parts.complete, { Metric: { Namespace: 'Labclimate', MetricName: 'LabsCompleteLastUpload', Dimensions: dimensions }, Period: 3600 })
  t.match(parts.registered, { Metric: { Namespace: 'Labclimate', MetricName: 'LabsRegistered', Dimensions: dimensions }, Period: 3600 })
})

t.test('QueueNotDrained watches the queue only between the drain hour and the hour before the upload (UTC fleet: 03:00-21:59)', async (t) => {
  const metrics = byName('QueueNotDrained').Metrics as Props[]
  t.equal(metrics.find((m) => m.Expression !== undefined)?.Expression, 'IF((HOUR(backlog) >= 3 AND HOUR(backlog) <= 21), backlog, 0)')
  t.match(metrics.find((m) => m.Id === 'backlog')?.MetricStat, {
    Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' },
    Stat: 'Minimum',
    Period: 900
  })
  // Europe/Berlin is UTC+1 in winter, +2 in summer: 03:00 local is 02:00 or 01:00 UTC, 22:00 local is 21:00 or 20:00 UTC.
  t.same(utcHoursWithin(3, 22, 'Europe/Berlin'), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
  // New York is UTC-5 / UTC-4: 03:00 local is 08:00 or 07:00 UTC; 22:00 local is 03:00 or 02:00 UTC the next day.
  t.equal(hourCondition('b', utcHoursWithin(3, 22, 'America/New_York')), '(HOUR(b) >= 8 OR HOUR(b) <= 1)')
  // India, UTC+5:30: 03:00 IST is 21:30 UTC, 22:00 IST is 16:30 UTC; whole UTC hours only.
  t.equal(hourCondition('b', utcHoursWithin(3, 22, 'Asia/Kolkata')), '(HOUR(b) >= 22 OR HOUR(b) <= 15)')
})

t.test('Aurora: capacity, memory at maximum capacity, deadlocks', async (t) => {
  t.match(byName('AuroraCapacity'), { Namespace: 'AWS/RDS', MetricName: 'ACUUtilization', Threshold: 90, ComparisonOperator: 'GreaterThanThreshold' })
  t.match(byName('AuroraDeadlocks'), { Namespace: 'AWS/RDS', MetricName: 'Deadlocks', Statistic: 'Average', Threshold: 1 })
  const memory = byName('AuroraMemory').Metrics as Props[]
  // prod: 64 ACU maximum, 1 GiB freeable memory.
  t.equal(memory.find((m) => m.Expression !== undefined)?.Expression, 'IF(acu >= 57.6 AND freeable < 1073741824, 1, 0)')
  t.same(memory.filter((m) => m.MetricStat !== undefined).map((m) => m.MetricStat.Metric.MetricName).sort(), ['FreeableMemory', 'ServerlessDatabaseCapacity'])
  for (const name of ['AuroraCapacity', 'AuroraDeadlocks']) {
    t.same(byName(name).Dimensions.map((d: Props) => d.Name), ['DBClusterIdentifier'], `${name} per cluster`)
  }
})

t.test('a dashboard of the same', async (t) => {
  tpl.resourceCountIs('AWS::CloudWatch::Dashboard', 1)
  const body = JSON.stringify(Object.values(tpl.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties.DashboardBody)
  for (const m of ['ReadingsAccepted', 'ReadingsRejected', 'ReadingsStored', 'BatchDurationMs', 'EndToEndLagMs', 'WorkerErrors', 'LabsReporting24h',
    'ReadingsOutOfRange', 'ApproximateAgeOfOldestMessage', 'TargetResponseTime', 'ServerlessDatabaseCapacity', 'LabsCompleteLastUpload', 'LabsRegistered',
    'DatabaseReady', 'QueueReady', 'HealthyHostCount', 'MaintenanceSucceeded', 'MaintenanceFailed', 'FreeableMemory', 'Deadlocks', 'ACUUtilization']) {
    t.match(body, m, `dashboard shows ${m}`)
  }
  t.match(body, /alarm/, 'alarm status widget')
})
