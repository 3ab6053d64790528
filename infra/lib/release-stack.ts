// What must exist before a release rolls the services: the ECS cluster and two one-off task definitions
// in the new worker image. scripts/deploy.sh deploys this stack, runs the release task (migrations, then
// per-role database users and the first admin key) and only then deploys ServiceStack, which depends on
// this stack; a failed release task stops the deploy with the running services untouched.
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import * as logs from 'aws-cdk-lib/aws-logs'
import { Platform } from 'aws-cdk-lib/aws-ecr-assets'
import type { Construct } from 'constructs'
import type { StageConfig } from './config.ts'
import { AdminTask } from './constructs/admin-task.ts'
import { ReleaseTask } from './constructs/release-task.ts'
import type { StatefulStack } from './stateful-stack.ts'

export interface ReleaseStackProps extends StackProps {
  config: StageConfig
  stateful: StatefulStack
  /** Repo root: the Docker build context of the worker image. */
  repoRoot: string
}

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
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: stateful.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED })
    this.workerImage = ecs.ContainerImage.fromAsset(props.repoRoot, { file: 'Dockerfile.worker', platform: Platform.LINUX_AMD64 })
    const logGroup = new logs.LogGroup(this, 'ReleaseLogs', {
      logGroupName: `/labclimate/${config.stage}/release`,
      retention: config.logRetentionDays,
      removalPolicy: config.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY
    })
    const parts = { image: this.workerImage, logGroup, database: stateful.database }
    this.releaseTask = new ReleaseTask(this, 'ReleaseTask', { ...parts, adminKeySecret: stateful.adminKeySecret }).taskDefinition
    this.adminTask = new AdminTask(this, 'AdminTask', parts).taskDefinition

    // Read by scripts/deploy.sh to run the release task and print the admin commands; the cluster name is
    // also exported under a stable name for ServiceStack (see clusterExportName).
    new CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName, exportName: clusterExportName(config.stage) })
    new CfnOutput(this, 'ReleaseTaskDefinitionArn', { value: this.releaseTask.taskDefinitionArn })
    new CfnOutput(this, 'AdminTaskDefinitionArn', { value: this.adminTask.taskDefinitionArn })
  }
}
