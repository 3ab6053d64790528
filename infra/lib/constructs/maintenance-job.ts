// The hourly maintenance job (partitions, archive, the nightly completeness check): a scheduled Fargate
// task in the worker image. Migrations are not its job: they run in the release task (release-task.ts).
import { Stack, Validations } from 'aws-cdk-lib'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns'
import * as events from 'aws-cdk-lib/aws-events'
import type * as logs from 'aws-cdk-lib/aws-logs'
import type * as rds from 'aws-cdk-lib/aws-rds'
import * as s3 from 'aws-cdk-lib/aws-s3'
import { Construct } from 'constructs'
import { iamDatabaseEnv } from './database-access.ts'
import { addAppContainer } from './fargate.ts'

export const MAINTENANCE_COMMAND = ['node', 'dist/maintenance-main.js']

export interface MaintenanceJobProps {
  cluster: ecs.ICluster
  /** The export the cluster is imported by: cdk-nag names it in the events role's finding. */
  clusterExportName: string
  image: ecs.ContainerImage
  logGroup: logs.ILogGroup
  securityGroup: ec2.ISecurityGroup
  database: rds.DatabaseCluster
  archiveBucketName: string
  /** How cdk-nag spells the archive bucket in findings (its fixed name in prod, a token in dev). */
  archiveBucketNagName: string
  /** Settings the job shares with other tasks (region, stage, retention, the upload window). */
  environment: Record<string, string>
}

export class MaintenanceJob extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition

  constructor (scope: Construct, id: string, props: MaintenanceJobProps) {
    super(scope, id)
    const region = Stack.of(this).region
    // Not fargateTask(): this task definition has never declared a runtime platform, and adding one would change its template.
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', { cpu: 512, memoryLimitMiB: 1024 })
    addAppContainer(this.taskDefinition, 'maintenance', props, {
      command: MAINTENANCE_COMMAND,
      environment: {
        ...iamDatabaseEnv(props.database, this.taskDefinition.taskRole, 'maintenance'),
        ARCHIVE_BUCKET: props.archiveBucketName,
        ...props.environment
      },
      findings: {
        settings: 'hosts, database user name, bucket name, region, retention',
        executionRoleScope: 'image pull and log access are scoped to this stack\'s repository and the maintenance log group.'
      }
    })
    // Reads and writes archive objects; never deletes them (lifecycle rules do that).
    // In prod by its fixed name, so the policy names the bucket, not a stack export; dev's name is generated.
    const archiveBucket = s3.Bucket.fromBucketName(this, 'ArchiveBucket', props.archiveBucketName)
    archiveBucket.grantRead(this.taskDefinition.taskRole)
    archiveBucket.grantPut(this.taskDefinition.taskRole)
    // "Default": the schedule keeps the logical ID it had before this construct existed.
    new ecsPatterns.ScheduledFargateTask(this, 'Default', {
      cluster: props.cluster,
      schedule: events.Schedule.cron({ minute: '7' }), // hourly, off the top of the hour
      scheduledFargateTaskDefinitionOptions: { taskDefinition: this.taskDefinition },
      subnetSelection: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [props.securityGroup],
      platformVersion: ecs.FargatePlatformVersion.LATEST
    })

    const eventsPolicy = this.taskDefinition.node.tryFindChild('EventsRole')?.node.tryFindChild('DefaultPolicy')
    if (eventsPolicy !== undefined) {
      Validations.of(eventsPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:${region}:*:task/${props.clusterExportName}/*]`,
        reason: 'CDK-generated EventBridge role of the scheduled task: ecs:TagResource on task/<cluster>/* ' +
          '(task ids are not known in advance); RunTask is scoped to the one task definition.'
      })
    }
    const taskPolicy = this.taskDefinition.taskRole.node.tryFindChild('DefaultPolicy')
    if (taskPolicy !== undefined) {
      const s3Findings = ['Action::s3:Abort*', 'Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*',
        `Resource::arn:<AWS::Partition>:s3:::${props.archiveBucketNagName}/*`]
      for (const finding of s3Findings) {
        Validations.of(taskPolicy).acknowledge({
          id: `AwsSolutions-IAM5[${finding}]`,
          reason: 'From archiveBucket.grantRead() and grantPut(): reads and writes objects under per-day keys of this one bucket ' +
            '(hence <bucket>/*); no delete.'
        })
      }
    }
  }
}
