// Raises Aurora Serverless v2's minimum capacity shortly before the nightly burst and lowers it after, so
// the cluster pays for a high floor only for about an hour a night. Two EventBridge Scheduler schedules
// in the fleet's time zone call rds:ModifyDBCluster directly (a universal target: no function to run).
// The template keeps the off-burst floor, so a deploy during the burst window lowers it again until the
// next raise; CloudFormation drift detection shows the raised floor during the window, by design.
import { Stack } from 'aws-cdk-lib'
import * as iam from 'aws-cdk-lib/aws-iam'
import type * as rds from 'aws-cdk-lib/aws-rds'
import * as scheduler from 'aws-cdk-lib/aws-scheduler'
import { Construct } from 'constructs'

export interface AuroraBurstFloorProps {
  cluster: rds.DatabaseCluster
  stage: string
  /** IANA time zone of the fleet (the devices upload at 23:00 local time). */
  timeZone: string
  burst: { start: { hour: number, minute: number }, end: { hour: number, minute: number } }
  burstMinCapacityAcu: number
  minCapacityAcu: number
  maxCapacityAcu: number
  /** How long before the ECS floors rise the database floor rises: Aurora needs minutes to grow. */
  leadMinutes?: number
}

/** cron(...) for a local time of day, every day. */
export function dailyCron (time: { hour: number, minute: number }): string {
  return `cron(${time.minute} ${time.hour} * * ? *)`
}

export function minutesBefore (time: { hour: number, minute: number }, minutes: number): { hour: number, minute: number } {
  const total = (((time.hour * 60 + time.minute - minutes) % 1440) + 1440) % 1440
  return { hour: Math.floor(total / 60), minute: total % 60 }
}

export class AuroraBurstFloor extends Construct {
  readonly raise: scheduler.CfnSchedule
  readonly lower: scheduler.CfnSchedule

  constructor (scope: Construct, id: string, props: AuroraBurstFloorProps) {
    super(scope, id)
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: `labclimate ${props.stage}: changes the Aurora floor around the nightly burst`
    })
    // No grant*() exists for ModifyDBCluster; the statement names the one cluster.
    role.addToPolicy(new iam.PolicyStatement({ actions: ['rds:ModifyDBCluster'], resources: [props.cluster.clusterArn] }))

    const schedule = (name: string, at: { hour: number, minute: number }, minCapacity: number): scheduler.CfnSchedule => new scheduler.CfnSchedule(this, name, {
      description: `labclimate ${props.stage}: Aurora minimum capacity ${minCapacity} ACU`,
      scheduleExpression: dailyCron(at),
      scheduleExpressionTimezone: props.timeZone,
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: 'arn:aws:scheduler:::aws-sdk:rds:modifyDBCluster',
        roleArn: role.roleArn,
        input: Stack.of(this).toJsonString({
          DbClusterIdentifier: props.cluster.clusterIdentifier,
          ServerlessV2ScalingConfiguration: { MinCapacity: minCapacity, MaxCapacity: props.maxCapacityAcu },
          ApplyImmediately: true
        }),
        retryPolicy: { maximumEventAgeInSeconds: 600, maximumRetryAttempts: 5 }
      }
    })
    this.raise = schedule('Raise', minutesBefore(props.burst.start, props.leadMinutes ?? 10), props.burstMinCapacityAcu)
    this.lower = schedule('Lower', props.burst.end, props.minCapacityAcu)
  }
}
