// Alarms (to one SNS topic) and a dashboard for the business and the machinery behind it.
// Business metrics come from the apps as CloudWatch Embedded Metric Format log lines; their namespace,
// names, dimensions (Service, Stage) and emitting service are imported from @labclimate/metrics, never
// retyped here (test/alarm-contract.test.ts holds both sides to it). Runbook: docs/operations.md.
import { Duration, RemovalPolicy } from 'aws-cdk-lib'
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch'
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions'
import type * as ecs from 'aws-cdk-lib/aws-ecs'
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2'
import * as iam from 'aws-cdk-lib/aws-iam'
import * as kms from 'aws-cdk-lib/aws-kms'
import type * as rds from 'aws-cdk-lib/aws-rds'
import * as sns from 'aws-cdk-lib/aws-sns'
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions'
import type * as sqs from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { METRIC_DIMENSIONS, METRIC_NAMESPACE, METRICS, type MetricName } from '@labclimate/metrics'
import type { StageConfig } from '../config.ts'

export interface MonitoringProps {
  config: StageConfig
  queue: sqs.IQueue
  deadLetterQueue: sqs.IQueue
  loadBalancer: elbv2.ApplicationLoadBalancer
  targetGroup: elbv2.ApplicationTargetGroup
  apiService: ecs.FargateService
  workerService: ecs.FargateService
  database: rds.DatabaseCluster
  /** IANA time zone of the fleet: the upload and drain hours are local to it (default UTC). */
  fleetTimeZone?: string | undefined
  alarmEmail?: string | undefined
}

const [SERVICE_DIMENSION, STAGE_DIMENSION] = METRIC_DIMENSIONS

/** A business metric exactly as the apps emit it: the service that emits it and this stage. */
export function businessMetric (stage: string, metricName: MetricName, statistic: string, period = Duration.minutes(5)): cloudwatch.Metric {
  const dimensionsMap = { [SERVICE_DIMENSION]: METRICS[metricName].service, [STAGE_DIMENSION]: stage }
  return new cloudwatch.Metric({ namespace: METRIC_NAMESPACE, metricName, dimensionsMap, statistic, period })
}

/** The UTC offsets (minutes) a time zone takes over a year: two where it keeps daylight saving time. */
export function utcOffsetsMinutes (timeZone: string, year = 2026): number[] {
  const offsets = new Set<number>()
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric'
  })
  for (let day = 0; day < 366; day += 1) {
    const ms = Date.UTC(year, 0, 1 + day, 12)
    const p = Object.fromEntries(format.formatToParts(ms).map((x) => [x.type, Number(x.value)]))
    offsets.add((Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, p.day, p.hour, p.minute) - ms) / 60_000)
  }
  return [...offsets].sort((a, b) => a - b)
}

/**
 * The UTC hours that lie wholly inside the local window [fromHour, toHour) whatever the offset of the
 * day (metric math's HOUR() is UTC): the queue-drain alarm watches only these.
 */
export function utcHoursWithin (fromHour: number, toHour: number, timeZone: string): number[] {
  const offsets = utcOffsetsMinutes(timeZone)
  const inside = (localMinute: number): boolean => {
    const m = ((localMinute % 1440) + 1440) % 1440
    const from = fromHour * 60
    const to = toHour * 60
    return from <= to ? m >= from && m < to : m >= from || m < to
  }
  return Array.from({ length: 24 }, (_, h) => h).filter((h) => offsets.every((off) => inside(h * 60 + off) && inside(h * 60 + off + 59)))
}

/** A metric-math condition true for datapoints in the given UTC hours, as ranges ("HOUR(m) >= 2 AND HOUR(m) <= 19"). */
export function hourCondition (id: string, hours: number[]): string {
  if (hours.length === 0) throw new Error('no UTC hour lies wholly inside the local window')
  const set = new Set(hours)
  const runs: Array<[number, number]> = []
  for (const h of hours) {
    if (set.has((h + 23) % 24) && hours.length < 24) continue // not the start of a run
    let end = h
    while (set.has((end + 1) % 24) && (end + 1) % 24 !== h) end = (end + 1) % 24
    runs.push([h, end])
  }
  const range = ([from, to]: [number, number]): string => from <= to
    ? `(HOUR(${id}) >= ${from} AND HOUR(${id}) <= ${to})`
    : `(HOUR(${id}) >= ${from} OR HOUR(${id}) <= ${to})`
  return runs.map(range).join(' OR ')
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic
  readonly alarms: cloudwatch.Alarm[] = []
  readonly dashboard: cloudwatch.Dashboard

  constructor (scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id)
    const { config, queue, deadLetterQueue, targetGroup, loadBalancer, database } = props
    const timeZone = props.fleetTimeZone ?? 'UTC'
    const metric = (name: MetricName, statistic: string, period?: Duration): cloudwatch.Metric => businessMetric(config.stage, name, statistic, period)
    const a = config.alarms
    const prefix = `labclimate-${config.stage}`

    // CloudWatch alarms publish to an encrypted topic only with a customer managed key it may use.
    const key = new kms.Key(this, 'AlarmTopicKey', { enableKeyRotation: true, description: `${prefix} alarm topic` })
    // A KMS key is retained by default; a destroyed dev stage should not leave one behind per redeploy.
    if (config.stage !== 'prod') key.applyRemovalPolicy(RemovalPolicy.DESTROY)
    key.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*']
    }))
    this.topic = new sns.Topic(this, 'Alarms', { displayName: `${prefix} alarms`, masterKey: key, enforceSSL: true })
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail))
    const notify = new actions.SnsAction(this.topic)

    type AlarmOptions = Omit<cloudwatch.CreateAlarmOptions, 'alarmName' | 'alarmDescription'>
    const alarm = (name: string, description: string, metric: cloudwatch.IMetric, options: AlarmOptions): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, name, {
        metric,
        alarmName: `${prefix}-${name}`,
        alarmDescription: `${description} Runbook: docs/operations.md#${name.toLowerCase()}`,
        ...options
      })
      created.addAlarmAction(notify)
      created.addOkAction(notify)
      this.alarms.push(created)
      return created
    }
    const GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    const LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
    const MISSING_OK = cloudwatch.TreatMissingData.NOT_BREACHING
    const MISSING_BAD = cloudwatch.TreatMissingData.BREACHING

    alarm('DlqNotEmpty', 'Messages reached the dead-letter queue: readings that could not be stored.',
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
      { threshold: 0, comparisonOperator: GT, evaluationPeriods: 1, treatMissingData: MISSING_OK })

    alarm('OldestMessageAge', 'The oldest reading message has waited too long: the worker is down, stuck or too few.',
      queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }),
      { threshold: a.oldestMessageSeconds, comparisonOperator: GT, evaluationPeriods: 5, datapointsToAlarm: 3, treatMissingData: MISSING_OK })

    const requests = loadBalancer.metrics.requestCount({ period: Duration.minutes(1), statistic: 'Sum' })
    const target5xx = loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: Duration.minutes(1), statistic: 'Sum' })
    const elb5xx = loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: Duration.minutes(1), statistic: 'Sum' })
    const rate5xx = new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)',
      usingMetrics: { requests, target5xx, elb5xx },
      label: 'API 5xx %',
      period: Duration.minutes(1)
    })
    alarm('Api5xxRate', 'The API answers 5xx (503 = SQS refusing readings, or no healthy task).', rate5xx,
      { threshold: a.api5xxPercent, comparisonOperator: GT, evaluationPeriods: 5, datapointsToAlarm: 3, treatMissingData: MISSING_OK })

    const p99 = targetGroup.metrics.targetResponseTime({ statistic: 'p99', period: Duration.minutes(1) })
    alarm('ApiP99Latency', 'API p99 latency is high: uploads wait for SQS acknowledgements; queries hit Aurora.', p99,
      { threshold: a.apiP99Seconds, comparisonOperator: GT, evaluationPeriods: 5, datapointsToAlarm: 4, treatMissingData: MISSING_OK })

    alarm('ApiNoHealthyHosts', 'No API task passes the load balancer\'s health check: every request fails.',
      targetGroup.metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1) }),
      { threshold: 1, comparisonOperator: LT, evaluationPeriods: 2, datapointsToAlarm: 2, treatMissingData: MISSING_BAD })

    // The ALB checks liveness only; each API task probes the database and the queue every minute instead.
    alarm('DatabaseNotReady', 'An API task could not reach the database for 3 minutes: queries fail (ingest goes on through SQS).',
      metric('DatabaseReady', 'Minimum', Duration.minutes(1)),
      { threshold: 1, comparisonOperator: LT, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: MISSING_OK })
    alarm('QueueNotReady', 'An API task could not reach SQS for 3 minutes: uploads are answered 503.',
      metric('QueueReady', 'Minimum', Duration.minutes(1)),
      { threshold: 1, comparisonOperator: LT, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: MISSING_OK })

    alarm('WorkerErrors', 'The worker failed to store batches: database unreachable (counted per retry), poison messages, consumer errors.',
      metric('WorkerErrors', 'Sum'),
      { threshold: a.workerErrorsPer5Min, comparisonOperator: GT, evaluationPeriods: 2, datapointsToAlarm: 2, treatMissingData: MISSING_OK })

    // LabsReporting24h counts hour rollups of the past 24 h. Uploads cover the 24 h up to the upload hour,
    // so from an hour before it until the burst is stored the count reads 0 every night. The best value
    // of 3 h always reaches past that dip; a burst stored more than 3 h late is an alarm of its own.
    alarm('LabsNotReporting', 'Fewer labs than expected had readings in the past 24 h at any time in the last 3 h.',
      metric('LabsReporting24h', 'Maximum', Duration.hours(3)),
      { threshold: a.minLabsReporting, comparisonOperator: LT, evaluationPeriods: 1, treatMissingData: MISSING_BAD })

    const completeRatio = new cloudwatch.MathExpression({
      expression: 'IF(registered > 0, complete / registered, 1)',
      usingMetrics: {
        complete: metric('LabsCompleteLastUpload', 'Minimum', Duration.hours(1)),
        registered: metric('LabsRegistered', 'Maximum', Duration.hours(1))
      },
      label: 'Labs with every reading of the last upload window (share)',
      period: Duration.hours(1)
    })
    alarm('UploadIncomplete', 'Labs are missing readings of last night\'s upload window; the maintenance log names them.', completeRatio,
      { threshold: a.minCompleteUploadRatio, comparisonOperator: LT, evaluationPeriods: 1, treatMissingData: MISSING_BAD })

    alarm('MaintenanceFailed', 'A maintenance run failed: partitions, archive or the completeness check.',
      metric('MaintenanceFailed', 'Sum', Duration.hours(1)),
      { threshold: 0, comparisonOperator: GT, evaluationPeriods: 1, treatMissingData: MISSING_OK })
    alarm('MaintenanceNotRunning', 'No maintenance run succeeded for 3 hours: not scheduled, crashing before it reports, or stuck holding its lock.',
      metric('MaintenanceSucceeded', 'Sum', Duration.hours(1)),
      { threshold: 1, comparisonOperator: LT, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: MISSING_BAD })

    // Out of the burst, the queue only sees live readings that drain within seconds: never empty for
    // 15 minutes between the drain hour and an hour before the upload means the burst was not absorbed.
    const hours = utcHoursWithin(a.queueDrainedByHour, (config.upload.hour + 23) % 24, timeZone)
    const backlog = queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Minimum', period: Duration.minutes(15) })
    const queueNotDrained = new cloudwatch.MathExpression({
      expression: `IF(${hourCondition('backlog', hours)}, backlog, 0)`,
      usingMetrics: { backlog },
      label: `Messages left after ${a.queueDrainedByHour}:00 (${timeZone})`,
      period: Duration.minutes(15)
    })
    alarm('QueueNotDrained',
      `Readings were still queued after ${a.queueDrainedByHour}:00 ${timeZone}: the nightly burst was not absorbed in time.`,
      queueNotDrained,
      { threshold: 0, comparisonOperator: GT, evaluationPeriods: 1, treatMissingData: MISSING_OK })

    // Out-of-range readings are refused and counted by the API (the only emitter, see @labclimate/metrics).
    const outOfRange = metric('ReadingsOutOfRange', 'Sum', Duration.minutes(15))
    alarm('ReadingsOutOfRange',
      'Readings outside the allowed temperature or humidity range arrived: a lab out of its climate, a sensor fault or a unit mistake.',
      outOfRange,
      { threshold: 0, comparisonOperator: GT, evaluationPeriods: 1, treatMissingData: MISSING_OK })

    // ---- Aurora ----
    alarm('AuroraCapacity', 'Aurora has run near its maximum capacity (ACU) for 15 minutes: raise maxCapacityAcu or find the heavy query.',
      database.metricACUUtilization({ statistic: 'Maximum', period: Duration.minutes(5) }),
      { threshold: a.acuUtilizationPercent, comparisonOperator: GT, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: MISSING_OK })
    const acu = database.metricServerlessDatabaseCapacity({ statistic: 'Maximum', period: Duration.minutes(5) })
    const freeable = database.metric('FreeableMemory', { statistic: 'Minimum', period: Duration.minutes(5) })
    alarm('AuroraMemory', 'Aurora is short of memory at its maximum capacity: it cannot scale further.',
      new cloudwatch.MathExpression({
        expression: `IF(acu >= ${config.database.maxCapacityAcu * 0.9} AND freeable < ${a.freeableMemoryMiB * 1024 * 1024}, 1, 0)`,
        usingMetrics: { acu, freeable },
        label: 'Freeable memory low at maximum ACU',
        period: Duration.minutes(5)
      }),
      { threshold: 0, comparisonOperator: GT, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: MISSING_OK })
    alarm('AuroraDeadlocks', 'Deadlocks per second in Aurora stayed high: batches are retried, the burst slows down.',
      database.metric('Deadlocks', { statistic: 'Average', period: Duration.minutes(5) }),
      { threshold: a.deadlocksPerSecond, comparisonOperator: GT, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: MISSING_OK })

    // ---- dashboard ----
    const w = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 })
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: prefix, defaultInterval: Duration.days(2) })
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 })
    )
    this.dashboard.addWidgets(
      w('Readings accepted / rejected (API)', [metric('ReadingsAccepted', 'Sum'), metric('ReadingsRejected', 'Sum')]),
      w('Readings stored (worker) / out of range (API)', [metric('ReadingsStored', 'Sum')], [outOfRange]),
      w('Labs reporting (24 h); last upload complete / registered',
        [metric('LabsReporting24h', 'Maximum', Duration.hours(1))],
        [metric('LabsCompleteLastUpload', 'Minimum', Duration.hours(1)), metric('LabsRegistered', 'Maximum', Duration.hours(1))])
    )
    this.dashboard.addWidgets(
      w('End-to-end lag (ms)', [metric('EndToEndLagMs', 'p50'), metric('EndToEndLagMs', 'p99')]),
      w('Queue: visible, oldest age (s), DLQ',
        [queue.metricApproximateNumberOfMessagesVisible(), deadLetterQueue.metricApproximateNumberOfMessagesVisible()],
        [queue.metricApproximateAgeOfOldestMessage()]),
      w('Worker: batch duration p99 (ms), errors', [metric('BatchDurationMs', 'p99')], [metric('WorkerErrors', 'Sum')])
    )
    this.dashboard.addWidgets(
      w('API: requests, 5xx %', [requests], [rate5xx]),
      w('API: latency p50 / p99 (s)', [targetGroup.metrics.targetResponseTime({ statistic: 'p50' }), p99]),
      w('API: healthy hosts; database / queue ready',
        [targetGroup.metrics.healthyHostCount({ statistic: 'Minimum' })],
        [metric('DatabaseReady', 'Minimum', Duration.minutes(1)), metric('QueueReady', 'Minimum', Duration.minutes(1))])
    )
    this.dashboard.addWidgets(
      w('Aurora: ACU, ACU %, connections', [acu], [database.metricACUUtilization(), database.metricDatabaseConnections()]),
      w('Aurora: freeable memory, deadlocks/s', [freeable], [database.metric('Deadlocks', { statistic: 'Average' })]),
      w('Tasks: CPU % (API, worker); maintenance runs',
        [props.apiService.metricCpuUtilization(), props.workerService.metricCpuUtilization()],
        [metric('MaintenanceSucceeded', 'Sum', Duration.hours(1)), metric('MaintenanceFailed', 'Sum', Duration.hours(1))])
    )
  }

  /** The name of the alarm created under this id (e.g. Api5xxRate), for deployment rollbacks. */
  alarmName (id: string): string {
    const alarm = this.alarms.find((a) => a.node.id === id)
    if (alarm === undefined) throw new Error(`monitoring has no ${id} alarm`)
    return alarm.alarmName
  }
}
