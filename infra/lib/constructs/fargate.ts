// What every labclimate Fargate task and service share: the platform, the container's logging and read-only
// root with a writable /tmp, the cdk-nag findings every task has, private placement with rollback, and the
// nightly burst floor.
import { Duration, TimeZone, Validations } from 'aws-cdk-lib'
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import type * as logs from 'aws-cdk-lib/aws-logs'
import type * as rds from 'aws-cdk-lib/aws-rds'
import type * as sqs from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'

/** The images are built for linux/amd64 (Platform.LINUX_AMD64 on the assets). */
export const LINUX_X86_64: ecs.RuntimePlatform = { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX }

/** What every task is given: the image it runs and the log group it writes to. */
export interface TaskProps {
  image: ecs.ContainerImage
  logGroup: logs.ILogGroup
}

/** What both services are given besides: where they run, the database and queue, the nightly floor. */
export interface ServiceProps extends TaskProps {
  cluster: ecs.ICluster
  securityGroup: ec2.ISecurityGroup
  database: rds.DatabaseCluster
  queue: sqs.IQueue
  burst?: BurstFloor | undefined
  /** Settings the service shares with other tasks (queue, region, stage; for the API also retention). */
  environment: Record<string, string>
}

export interface TaskSize { cpu: number, memoryMiB: number }

/** The one-off CLI tasks (release, admin) run one command and exit. */
export const ONE_OFF_TASK_SIZE: TaskSize = { cpu: 256, memoryMiB: 512 }

export function fargateTask (scope: Construct, id: string, size: TaskSize): ecs.FargateTaskDefinition {
  return new ecs.FargateTaskDefinition(scope, id, { cpu: size.cpu, memoryLimitMiB: size.memoryMiB, runtimePlatform: LINUX_X86_64 })
}

/** Root filesystems are read-only; each task gets a writable ephemeral /tmp. */
export function writableTmp (task: ecs.TaskDefinition): void {
  task.addVolume({ name: 'tmp' })
  task.defaultContainer?.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false })
}

/** What addAppContainer sets itself, so a caller cannot set it differently. */
type SetByAddAppContainer = 'image' | 'logging' | 'readonlyRootFilesystem' | 'stopTimeout' | 'healthCheck'

export interface AppContainerOptions extends Omit<ecs.ContainerDefinitionOptions, SetByAddAppContainer> {
  /** Services only: how ECS checks the container (3 retries), with 30 s between SIGTERM and SIGKILL to drain in. */
  health?: { command: string[], intervalSeconds: number, timeoutSeconds: number, startPeriodSeconds: number }
  /** The cdk-nag findings the container brings to its task (plain environment, the execution role's grants). */
  findings: TaskFindings
}

/**
 * A task's one container: logs to its group under its own name, read-only root with a writable /tmp, and
 * its cdk-nag findings acknowledged.
 */
export function addAppContainer (task: ecs.FargateTaskDefinition, name: string, props: TaskProps, options: AppContainerOptions): ecs.ContainerDefinition {
  const { health, findings, ...rest } = options
  const container = task.addContainer(name, {
    ...rest,
    image: props.image,
    logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: name }),
    readonlyRootFilesystem: true,
    ...(health !== undefined
      ? {
          stopTimeout: Duration.seconds(30),
          healthCheck: {
            command: health.command,
            interval: Duration.seconds(health.intervalSeconds),
            timeout: Duration.seconds(health.timeoutSeconds),
            retries: 3,
            startPeriod: Duration.seconds(health.startPeriodSeconds)
          }
        }
      : {})
  })
  writableTmp(task)
  acknowledgeTaskFindings(task, findings)
  return container
}

export interface TaskFindings {
  /** What the task's plain environment holds, e.g. "hosts, database user name, region". */
  settings: string
  /** Where the database password is, if the task has one; by default it has none (IAM tokens). */
  password?: string
  /** What the execution role's pull and log grants are scoped to. */
  executionRoleScope: string
}

/** The two cdk-nag findings every task definition has, acknowledged with this task's particulars. */
function acknowledgeTaskFindings (task: ecs.TaskDefinition, findings: TaskFindings): void {
  const password = findings.password ?? 'there is no database password: the task signs an IAM token per connection.'
  Validations.of(task).acknowledge({ id: 'AwsSolutions-ECS2', reason: `Only non-secret settings (${findings.settings}) are plain environment; ${password}` })
  const executionPolicy = task.executionRole?.node.tryFindChild('DefaultPolicy')
  if (executionPolicy !== undefined) {
    Validations.of(executionPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `CDK-generated execution role: ecr:GetAuthorizationToken exists only on Resource::*; ${findings.executionRoleScope}`
    })
  }
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

/** Both services: a task of their stage's size, run as a service that rolls back on an alarm. */
export abstract class AppService extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition
  abstract readonly service: ecs.FargateService

  constructor (scope: Construct, id: string, size: TaskSize) {
    super(scope, id)
    this.taskDefinition = fargateTask(this, 'Task', size)
  }

  /** A release that runs but trips this alarm (the API answering 5xx, the worker failing batches) is rolled back by ECS. */
  rollBackOn (alarmName: string): void {
    this.service.enableDeploymentAlarms([alarmName], { behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM })
  }
}
