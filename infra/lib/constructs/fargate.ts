// What every labclimate Fargate task and service share: the platform, a read-only root with a writable
// /tmp, private placement with rollback, and the nightly burst floor.
import { TimeZone } from 'aws-cdk-lib'
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import type { Construct } from 'constructs'

/** The images are built for linux/amd64 (Platform.LINUX_AMD64 on the assets). */
export const LINUX_X86_64: ecs.RuntimePlatform = { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX }

/** Root filesystems are read-only; each task gets a writable ephemeral /tmp. */
export function writableTmp (task: ecs.TaskDefinition): void {
  task.addVolume({ name: 'tmp' })
  task.defaultContainer?.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false })
}

export interface PrivateServiceProps {
  cluster: ecs.ICluster
  taskDefinition: ecs.FargateTaskDefinition
  securityGroup: ec2.ISecurityGroup
  desiredCount: number
  healthCheckGracePeriod?: ecs.FargateServiceProps['healthCheckGracePeriod']
}

/**
 * Both services run the same way: private subnets without public IPs, rolling deploys that keep every
 * running task until its replacement is healthy, and automatic rollback when a deploy does not become healthy.
 */
export function privateService (scope: Construct, id: string, props: PrivateServiceProps): ecs.FargateService {
  return new ecs.FargateService(scope, id, {
    cluster: props.cluster,
    taskDefinition: props.taskDefinition,
    desiredCount: props.desiredCount,
    securityGroups: [props.securityGroup],
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    assignPublicIp: false,
    minHealthyPercent: 100,
    maxHealthyPercent: 200,
    circuitBreaker: { enable: true, rollback: true },
    ...(props.healthCheckGracePeriod !== undefined ? { healthCheckGracePeriod: props.healthCheckGracePeriod } : {})
  })
}

/** Raise a service's floor before the nightly upload, in the fleet's time zone, and lower it after. */
export interface BurstFloor {
  start: { hour: number, minute: number }
  end: { hour: number, minute: number }
  minTasks: number
  /** IANA time zone of the fleet: devices upload at 23:00 local time, summer and winter. */
  timeZone: string
}

/** ScalableTarget and ScalableTaskCount both take scheduled actions. */
interface Schedulable { scaleOnSchedule: (id: string, props: appscaling.ScalingSchedule) => void }

export function scaleForBurst (target: Schedulable, burst: BurstFloor, baseMinTasks: number): void {
  const timeZone = TimeZone.of(burst.timeZone)
  const at = (time: { hour: number, minute: number }): appscaling.Schedule => appscaling.Schedule.cron({ hour: String(time.hour), minute: String(time.minute) })
  target.scaleOnSchedule('BurstFloor', { schedule: at(burst.start), minCapacity: burst.minTasks, timeZone })
  target.scaleOnSchedule('BurstFloorEnd', { schedule: at(burst.end), minCapacity: baseMinTasks, timeZone })
}
