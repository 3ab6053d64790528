// What must exist before a release rolls the services: the ECS cluster and two one-off task definitions
// in the new worker image. scripts/deploy.sh deploys this stack, runs the release task (migrations, then
// per-role database users and the first admin key) and only then deploys ServiceStack, which depends on
// this stack; a failed release task stops the deploy with the running services untouched.
import { CfnOutput, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import * as logs from 'aws-cdk-lib/aws-logs'
import { Platform } from 'aws-cdk-lib/aws-ecr-assets'
import type { Construct } from 'constructs'
import type { StageConfig } from './config.ts'
import { iamDatabaseEnv } from './constructs/database-access.ts'
import { DB_NAME, DB_PORT, type StatefulStack } from './stateful-stack.ts'

export interface ReleaseStackProps extends StackProps {
  config: StageConfig
  stateful: StatefulStack
  /** Repo root: the Docker build context of the worker image. */
  repoRoot: string
}

/**
 * The release task's command: bootstrap runs the migrations first (they create the tables the grants and
 * keys need), then the per-role users and grants, then the first admin key; any failure exits non-zero.
 */
export const RELEASE_COMMAND = ['node', 'dist/admin-main.js', 'bootstrap']
export const ADMIN_COMMAND = ['node', 'dist/admin-main.js', '--help']

/** ServiceStack imports the cluster by this export: a stable name its cdk-nag acknowledgements can cite. */
export const clusterExportName = (stage: string): string => `Labclimate-${stage}-ClusterName`

export class ReleaseStack extends Stack {
  readonly cluster: ecs.Cluster
  readonly workerImage: ecs.ContainerImage
  readonly releaseTask: ecs.FargateTaskDefinition
  readonly adminTask: ecs.FargateTaskDefinition

  constructor (scope: Construct, id: string, props: ReleaseStackProps) {
    super(scope, id, props)
    const { config, stateful } = props
    const { database } = stateful
    const secret = database.secret
    if (secret === undefined) throw new Error('the Aurora cluster has no generated secret')

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: stateful.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED })
    this.workerImage = ecs.ContainerImage.fromAsset(props.repoRoot, { file: 'Dockerfile.worker', platform: Platform.LINUX_AMD64 })
    const logGroup = new logs.LogGroup(this, 'ReleaseLogs', {
      logGroupName: `/labclimate/${config.stage}/release`,
      retention: config.logRetentionDays,
      removalPolicy: config.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY
    })
    const runtimePlatform = { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX }

    // The only task that gets the master user: it creates the IAM-authenticated users and their grants.
    // ECS injects the secret's fields; infra/docker/entrypoint.sh assembles DATABASE_URL from DB_*.
    this.releaseTask = new ecs.FargateTaskDefinition(this, 'ReleaseTask', { cpu: 256, memoryLimitMiB: 512, runtimePlatform })
    this.releaseTask.addContainer('release', {
      image: this.workerImage,
      command: RELEASE_COMMAND,
      environment: {
        DB_HOST: database.clusterEndpoint.hostname,
        DB_PORT: String(DB_PORT),
        DB_NAME,
        DATABASE_TLS: 'true',
        // Role users log in with IAM tokens (AWSAuthenticationPlugin), never with a password.
        ROLE_USERS_AUTH: 'iam',
        ADMIN_KEY_SECRET_ARN: stateful.adminKeySecret.secretArn,
        AWS_REGION: this.region,
        LOG_LEVEL: 'info'
      },
      secrets: {
        DB_USER: ecs.Secret.fromSecretsManager(secret, 'username'),
        DB_PASSWORD: ecs.Secret.fromSecretsManager(secret, 'password')
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'release' }),
      readonlyRootFilesystem: true
    })
    stateful.adminKeySecret.grantRead(this.releaseTask.taskRole)
    stateful.adminKeySecret.grantWrite(this.releaseTask.taskRole)

    // The CLI as a one-off task (`keys create`, `labs create`, `migrate` by hand), connecting as
    // the migrate user with an IAM token: no password to hand out.
    this.adminTask = new ecs.FargateTaskDefinition(this, 'AdminTask', { cpu: 256, memoryLimitMiB: 512, runtimePlatform })
    this.adminTask.addContainer('admin', {
      image: this.workerImage,
      command: ADMIN_COMMAND,
      environment: { ...iamDatabaseEnv(database, this.adminTask.taskRole, 'migrate'), AWS_REGION: this.region, LOG_LEVEL: 'info' },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'admin' }),
      readonlyRootFilesystem: true
    })

    for (const task of [this.releaseTask, this.adminTask]) {
      task.addVolume({ name: 'tmp' })
      task.defaultContainer?.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false })
      Validations.of(task).acknowledge({ id: 'AwsSolutions-ECS2', reason: 'Only non-secret settings (hosts, user names, region, secret ARN) are plain environment; the master password reaches only the release task, as an ECS secret from Secrets Manager.' })
      const policy = task.executionRole?.node.tryFindChild('DefaultPolicy')
      if (policy !== undefined) {
        Validations.of(policy).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'CDK-generated execution role: ecr:GetAuthorizationToken exists only on Resource::*; image pull, log and secret access are scoped to this stack\'s repository, log group and the DB secret.' })
      }
    }

    // Read by scripts/deploy.sh to run the release task and print the admin commands; the cluster name is
    // also exported under a stable name for ServiceStack (see clusterExportName).
    new CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName, exportName: clusterExportName(config.stage) })
    new CfnOutput(this, 'ReleaseTaskDefinitionArn', { value: this.releaseTask.taskDefinitionArn })
    new CfnOutput(this, 'AdminTaskDefinitionArn', { value: this.adminTask.taskDefinitionArn })
  }
}
