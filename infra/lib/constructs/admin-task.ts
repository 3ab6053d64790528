// The CLI as a one-off Fargate task (`keys create`, `labs create`, `migrate` by hand), connecting as the
// migrate user with an IAM token: no password to hand out.
import { Stack } from 'aws-cdk-lib'
import type * as ecs from 'aws-cdk-lib/aws-ecs'
import type * as rds from 'aws-cdk-lib/aws-rds'
import { Construct } from 'constructs'
import { iamDatabaseEnv } from './database-access.ts'
import { addAppContainer, fargateTask, ONE_OFF_TASK_SIZE, type TaskProps } from './fargate.ts'

export const ADMIN_COMMAND = ['node', 'dist/admin-main.js', '--help']

export interface AdminTaskProps extends TaskProps {
  database: rds.DatabaseCluster
}

export class AdminTask extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition

  constructor (scope: Construct, id: string, props: AdminTaskProps) {
    super(scope, id)
    // "Default": the task definition keeps the logical ID and family it had before this construct existed.
    this.taskDefinition = fargateTask(this, 'Default', ONE_OFF_TASK_SIZE)
    addAppContainer(this.taskDefinition, 'admin', props, {
      command: ADMIN_COMMAND,
      environment: { ...iamDatabaseEnv(props.database, this.taskDefinition.taskRole, 'migrate'), AWS_REGION: Stack.of(this).region, LOG_LEVEL: 'info' },
      findings: {
        settings: 'hosts, the migrate user name, region',
        executionRoleScope: 'image pull and log access are scoped to this stack\'s repository and the release log group.'
      }
    })
  }
}
