// The worker: Fargate tasks that consume the readings queue and write Aurora, scaling on visible
// messages per running task, with the nightly burst floor.
import type { CfnResource } from 'aws-cdk-lib'
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import type { Construct } from 'constructs'
import type { StageConfig } from '../config.ts'
import { iamDatabaseEnv } from './database-access.ts'
import { addAppContainer, AppService, privateService, scaleForBurst, type ServiceProps } from './fargate.ts'

export interface WorkerServiceProps extends ServiceProps {
  sizing: StageConfig['worker']
  visibilityTimeoutSeconds: number
  /** Name prefix of the scaling policy, e.g. labclimate-prod. */
  name: string
}

export class WorkerService extends AppService {
  readonly service: ecs.FargateService
  readonly scalableTarget: appscaling.ScalableTarget

  constructor (scope: Construct, id: string, props: WorkerServiceProps) {
    super(scope, id, props.sizing)
    const { sizing, queue } = props
    addAppContainer(this.taskDefinition, 'worker', props, {
      // The release task has migrated before the worker rolls; its user has no DDL rights anyway.
      environment: {
        ...props.environment,
        ...iamDatabaseEnv(props.database, this.taskDefinition.taskRole, 'worker'),
        WORKER_CONSUMERS: String(sizing.consumersPerTask),
        SQS_VISIBILITY_TIMEOUT_SECONDS: String(props.visibilityTimeoutSeconds),
        MIGRATE_ON_START: 'false'
      },
      // The image's HEALTHCHECK (Dockerfile.worker): the worker touches its liveness file every 5 s while its
      // event loop turns; a file older than a minute means a hung process, which ECS then replaces.
      health: {
        command: ['CMD-SHELL', 'test -n "$(find "$WORKER_LIVENESS_FILE" -mmin -1 2>/dev/null)"'],
        intervalSeconds: 30,
        timeoutSeconds: 5,
        startPeriodSeconds: 60
      },
      findings: {
        settings: 'hosts, database user name, queue URL, region, sizes',
        executionRoleScope: 'image pull and log access are scoped to this stack\'s repository and the worker log group.'
      }
    })
    queue.grantConsumeMessages(this.taskDefinition.taskRole)

    // "Default": the service keeps the logical ID it had before this construct existed (a new one would
    // start a second set of consumers beside the running one).
    this.service = privateService(this, 'Default', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      securityGroup: props.securityGroup,
      desiredCount: sizing.minTasks
    })

    // Target tracking on "visible messages / running tasks": the L2 scaleToTrackCustomMetric takes one
    // metric, not metric math, so the policy is written with the L1 construct.
    this.scalableTarget = new appscaling.ScalableTarget(this, 'ScalableTarget', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${props.cluster.clusterName}/${this.service.serviceName}`,
      minCapacity: sizing.minTasks,
      maxCapacity: sizing.maxTasks
    })
    this.scalableTarget.node.addDependency(this.service)
    if (props.burst !== undefined) scaleForBurst(this.scalableTarget, props.burst, sizing.minTasks)
    const backlogPolicy = new appscaling.CfnScalingPolicy(this, 'BacklogPerTask', {
      policyName: `${props.name}-worker-backlog-per-task`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: this.scalableTarget.scalableTargetId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: sizing.backlogPerTaskTarget,
        scaleInCooldown: 300,
        scaleOutCooldown: 60,
        customizedMetricSpecification: {
          metrics: [
            {
              id: 'visible',
              returnData: false,
              metricStat: {
                metric: {
                  namespace: 'AWS/SQS',
                  metricName: 'ApproximateNumberOfMessagesVisible',
                  dimensions: [{ name: 'QueueName', value: queue.queueName }]
                },
                stat: 'Sum'
              }
            },
            {
              id: 'tasks',
              returnData: false,
              metricStat: {
                metric: {
                  namespace: 'ECS/ContainerInsights',
                  metricName: 'RunningTaskCount',
                  dimensions: [{ name: 'ClusterName', value: props.cluster.clusterName }, { name: 'ServiceName', value: this.service.serviceName }]
                },
                stat: 'Average'
              }
            },
            { id: 'backlogPerTask', label: 'Messages visible per running worker task', returnData: true, expression: 'visible / IF(tasks > 0, tasks, 1)' }
          ]
        }
      }
    })
    // Both IDs are kept from before this construct existed: a scalable target (or a named policy) under a
    // new ID registers the same service again, and deleting the old one then removes the scaling altogether.
    ;(this.scalableTarget.node.defaultChild as CfnResource).overrideLogicalId('WorkerScalableTarget017C0E7C')
    backlogPolicy.overrideLogicalId('WorkerBacklogPerTask')
  }
}
