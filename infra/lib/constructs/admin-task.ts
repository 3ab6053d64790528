// The CLI as a one-off Fargate task (`keys create`, `labs create`, `migrate` by hand), connecting as the
// migrate user with an IAM token: no password to hand out.
import { Stack, Validations } from 'aws-cdk-lib'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import type * as logs from 'aws-cdk-lib/aws-logs'
import type * as rds from 'aws-cdk-lib/aws-rds'
import { Construct } from 'constructs'
import { iamDatabaseEnv } from './database-access.ts'
import { LINUX_X86_64, writableTmp } from './fargate.ts'

export const ADMIN_COMMAND = ['node', 'dist/admin-main.js', '--help']

export interface AdminTaskProps {
  image: ecs.ContainerImage
  logGroup: logs.ILogGroup
  database: rds.DatabaseCluster
}

export class AdminTask extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition

  constructor (scope: Construct, id: string, props: AdminTaskProps) {
    super(scope, id)
    // "Default": the task definition keeps the logical ID and family it had before this construct existed.
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Default', { cpu: 256, memoryLimitMiB: 512, runtimePlatform: LINUX_X86_64 })
    this.taskDefinition.addContainer('admin', {
      image: props.image,
      command: ADMIN_COMMAND,
      environment: { ...iamDatabaseEnv(props.database, this.taskDefinition.taskRole, 'migrate'), AWS_REGION: Stack.of(this).region, LOG_LEVEL: 'info' },
      logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: 'admin' }),
      readonlyRootFilesystem: true
    })
    writableTmp(this.taskDefinition)

    Validations.of(this.taskDefinition).acknowledge({ id: 'AwsSolutions-ECS2', reason: 'Only non-secret settings (hosts, the migrate user name, region) are plain environment; there is no database password: the task signs an IAM token per connection.' })
    const executionPolicy = this.taskDefinition.executionRole?.node.tryFindChild('DefaultPolicy')
    if (executionPolicy !== undefined) {
      Validations.of(executionPolicy).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'CDK-generated execution role: ecr:GetAuthorizationToken exists only on Resource::*; image pull and log access are scoped to this stack\'s repository and the release log group.' })
    }
  }
}
