// The release task: a one-off Fargate task that scripts/deploy.sh runs before the services roll. It is the
// only task that gets the master user: it runs the migrations, then creates the IAM-authenticated per-role
// users and their grants, then the first admin key.
import { Stack } from 'aws-cdk-lib'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import type * as rds from 'aws-cdk-lib/aws-rds'
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager'
import { Construct } from 'constructs'
import { DB_NAME, DB_PORT } from '../stateful-stack.ts'
import { addAppContainer, fargateTask, ONE_OFF_TASK_SIZE, type TaskProps } from './fargate.ts'

/**
 * The release task's command: bootstrap runs the migrations first (they create the tables the grants and
 * keys need), then the per-role users and grants, then the first admin key; any failure exits non-zero.
 */
export const RELEASE_COMMAND = ['node', 'dist/admin-main.js', 'bootstrap']

export interface ReleaseTaskProps extends TaskProps {
  database: rds.DatabaseCluster
  /** Where the first admin key is stored (read to see whether one exists, written once). */
  adminKeySecret: secretsmanager.ISecret
}

export class ReleaseTask extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition

  constructor (scope: Construct, id: string, props: ReleaseTaskProps) {
    super(scope, id)
    const { database } = props
    const secret = database.secret
    if (secret === undefined) throw new Error('the Aurora cluster has no generated secret')
    // "Default": the task definition keeps the logical ID and family it had before this construct existed.
    this.taskDefinition = fargateTask(this, 'Default', ONE_OFF_TASK_SIZE)
    // ECS injects the secret's fields; infra/docker/entrypoint.sh assembles DATABASE_URL from DB_*.
    addAppContainer(this.taskDefinition, 'release', props, {
      command: RELEASE_COMMAND,
      environment: {
        DB_HOST: database.clusterEndpoint.hostname,
        DB_PORT: String(DB_PORT),
        DB_NAME,
        DATABASE_TLS: 'true',
        // Role users log in with IAM tokens (AWSAuthenticationPlugin), never with a password.
        ROLE_USERS_AUTH: 'iam',
        ADMIN_KEY_SECRET_ARN: props.adminKeySecret.secretArn,
        AWS_REGION: Stack.of(this).region,
        LOG_LEVEL: 'info'
      },
      secrets: {
        DB_USER: ecs.Secret.fromSecretsManager(secret, 'username'),
        DB_PASSWORD: ecs.Secret.fromSecretsManager(secret, 'password')
      },
      findings: {
        settings: 'hosts, user names, region, secret ARN',
        password: 'the master password reaches only the release task, as an ECS secret from Secrets Manager.',
        executionRoleScope: 'image pull, log and secret access are scoped to this stack\'s repository, log group and the DB secret.'
      }
    })
    props.adminKeySecret.grantRead(this.taskDefinition.taskRole)
    props.adminKeySecret.grantWrite(this.taskDefinition.taskRole)
  }
}
