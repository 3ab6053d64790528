// Alarms (to one SNS topic) and a dashboard for the business and the machinery behind it.
// Business metrics come from the apps as CloudWatch Embedded Metric Format log lines: namespace
// "Labclimate", dimension Service = api | worker (the contract is in docs/operations.md).
import { Duration } from 'aws-cdk-lib'
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
import { METRICS_NAMESPACE, type StageConfig } from './config.ts'

export interface MonitoringProps {
  config: StageConfig
  queue: sqs.IQueue
  deadLetterQueue: sqs.IQueue
  loadBalancer: elbv2.ApplicationLoadBalancer
  targetGroup: elbv2.ApplicationTargetGroup
  apiService: ecs.FargateService
  workerService: ecs.FargateService
  database: rds.DatabaseCluster
  alarmEmail?: string | undefined
}

export function businessMetric (service: 'api' | 'worker', metricName: string, statistic: string, period = Duration.minutes(5)): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { Service: service }, statistic, period })
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic
  readonly alarms: cloudwatch.Alarm[] = []
  readonly dashboard: cloudwatch.Dashboard

  constructor (scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id)
    const { config, queue, deadLetterQueue, targetGroup, loadBalancer } = props
    const a = config.alarms
    const prefix = `labclimate-${config.stage}`

    // CloudWatch alarms publish to an encrypted topic only with a customer managed key it may use.
    const key = new kms.Key(this, 'AlarmTopicKey', { enableKeyRotation: true, description: `${prefix} alarm topic` })
    key.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*']
    }))
    this.topic = new sns.Topic(this, 'Alarms', { displayName: `${prefix} alarms`, masterKey: key, enforceSSL: true })
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail))
    const notify = new actions.SnsAction(this.topic)

    const alarm = (name: string, description: string, metric: cloudwatch.IMetric, options: Omit<cloudwatch.CreateAlarmOptions, 'alarmName' | 'alarmDescription'>): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, name, { metric, alarmName: `${prefix}-${name}`, alarmDescription: `${description} Runbook: docs/operations.md#${name.toLowerCase()}`, ...options })
      created.addAlarmAction(notify)
      created.addOkAction(notify)
      this.alarms.push(created)
      return created
    }
    const GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    const LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD

    alarm('DlqNotEmpty', 'Messages reached the dead-letter queue: readings that could not be stored.',
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
      { threshold: 0, comparisonOperator: GT, evaluationPeriods: 1, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING })

    alarm('OldestMessageAge', 'The oldest reading message has waited too long: the worker is down, stuck or too few.',
      queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }),
      { threshold: a.oldestMessageSeconds, comparisonOperator: GT, evaluationPeriods: 5, datapointsToAlarm: 3, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING })

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
      { threshold: a.api5xxPercent, comparisonOperator: GT, evaluationPeriods: 5, datapointsToAlarm: 3, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING })

    const p99 = targetGroup.metrics.targetResponseTime({ statistic: 'p99', period: Duration.minutes(1) })
    alarm('ApiP99Latency', 'API p99 latency is high: uploads wait for SQS acknowledgements; queries hit Aurora.', p99,
      { threshold: a.apiP99Seconds, comparisonOperator: GT, evaluationPeriods: 5, datapointsToAlarm: 4, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING })

    alarm('WorkerErrors', 'The worker failed to store batches (database errors, poison messages).',
      businessMetric('worker', 'WorkerErrors', 'Sum'),
      { threshold: a.workerErrorsPer5Min, comparisonOperator: GT, evaluationPeriods: 2, datapointsToAlarm: 2, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING })

    // Missing data breaches: if the worker stops reporting, nobody knows which labs report.
    alarm('LabsNotReporting', 'Fewer labs uploaded in the past 24 h than expected: a lab missed its nightly batch.',
      businessMetric('worker', 'LabsReporting24h', 'Minimum', Duration.hours(1)),
      { threshold: a.minLabsReporting, comparisonOperator: LT, evaluationPeriods: 1, treatMissingData: cloudwatch.TreatMissingData.BREACHING })

    // Out-of-range readings are counted where they are detected: today the API refuses them (Service=api);
    // a per-lab range check in the worker would report Service=worker. The alarm watches the sum.
    const outOfRange = new cloudwatch.MathExpression({
      expression: 'FILL(outOfRangeApi, 0) + FILL(outOfRangeWorker, 0)',
      usingMetrics: {
        outOfRangeApi: businessMetric('api', 'ReadingsOutOfRange', 'Sum', Duration.minutes(15)),
        outOfRangeWorker: businessMetric('worker', 'ReadingsOutOfRange', 'Sum', Duration.minutes(15))
      },
      label: 'Readings out of range',
      period: Duration.minutes(15)
    })
    alarm('ReadingsOutOfRange', 'Readings outside the allowed temperature or humidity range arrived: a lab out of its climate, a sensor fault or a unit mistake.', outOfRange,
      { threshold: 0, comparisonOperator: GT, evaluationPeriods: 1, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING })

    // ---- dashboard ----
    const w = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []): cloudwatch.GraphWidget => new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 })
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: prefix, defaultInterval: Duration.days(2) })
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 })
    )
    this.dashboard.addWidgets(
      w('Readings accepted / rejected (API)', [businessMetric('api', 'ReadingsAccepted', 'Sum'), businessMetric('api', 'ReadingsRejected', 'Sum')]),
      w('Readings stored (worker) / out of range', [businessMetric('worker', 'ReadingsStored', 'Sum')], [outOfRange]),
      w('Labs reporting (24 h)', [businessMetric('worker', 'LabsReporting24h', 'Minimum', Duration.hours(1))])
    )
    this.dashboard.addWidgets(
      w('End-to-end lag (ms)', [businessMetric('worker', 'EndToEndLagMs', 'p50'), businessMetric('worker', 'EndToEndLagMs', 'p99')]),
      w('Queue: visible, oldest age (s), DLQ', [queue.metricApproximateNumberOfMessagesVisible(), deadLetterQueue.metricApproximateNumberOfMessagesVisible()], [queue.metricApproximateAgeOfOldestMessage()]),
      w('Worker: batch duration p99 (ms), errors', [businessMetric('worker', 'BatchDurationMs', 'p99')], [businessMetric('worker', 'WorkerErrors', 'Sum')])
    )
    this.dashboard.addWidgets(
      w('API: requests, 5xx %', [requests], [rate5xx]),
      w('API: latency p50 / p99 (s)', [targetGroup.metrics.targetResponseTime({ statistic: 'p50' }), p99]),
      w('Tasks: CPU % (API, worker)', [props.apiService.metricCpuUtilization(), props.workerService.metricCpuUtilization()])
    )
    this.dashboard.addWidgets(
      w('Aurora: ACU, connections', [props.database.metricServerlessDatabaseCapacity()], [props.database.metricDatabaseConnections()]),
      w('Aurora: CPU %', [props.database.metricCPUUtilization()])
    )
  }
}

