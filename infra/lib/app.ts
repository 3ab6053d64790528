// Builds the labclimate stacks into an App. The environment (account, region, stage, certificate,
// alarm e-mail) is read only in bin/labclimate.ts and handed in here.
import { App, Tags, Validations } from 'aws-cdk-lib'
import { AwsSolutionsChecks } from 'cdk-nag'
import { fileURLToPath } from 'node:url'
import { stageConfig, type StageConfig } from './config.ts'
import { ServiceStack } from './service-stack.ts'
import { StatefulStack } from './stateful-stack.ts'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface LabclimateEnv {
  stage: string
  account: string
  region: string
  availabilityZones: [string, string]
  certificateArn?: string | undefined
  alarmEmail?: string | undefined
  /** Run cdk-nag AwsSolutions checks during synth (default true). */
  nag?: boolean
}

export interface LabclimateStacks { config: StageConfig, stateful: StatefulStack, service: ServiceStack }

export function buildLabclimate (app: App, env: LabclimateEnv): LabclimateStacks {
  // Cross-stack references stay "strong" (CloudFormation exports protect the producer); said explicitly.
  if (app.node.tryGetContext('@aws-cdk/core:defaultCrossStackReferences') === undefined && app.node.children.length === 0) {
    app.node.setContext('@aws-cdk/core:defaultCrossStackReferences', 'strong')
  }
  const config = stageConfig(env.stage, env.availabilityZones)
  const awsEnv = { account: env.account, region: env.region }
  const name = (part: string): string => `Labclimate-${config.stage}-${part}`
  const stateful = new StatefulStack(app, name('Stateful'), {
    env: awsEnv,
    config,
    description: `labclimate ${config.stage}: network, Aurora MySQL, SQS, buckets`,
    terminationProtection: config.stage === 'prod'
  })
  const service = new ServiceStack(app, name('Service'), {
    env: awsEnv,
    config,
    stateful,
    repoRoot: REPO_ROOT,
    certificateArn: env.certificateArn,
    alarmEmail: env.alarmEmail,
    description: `labclimate ${config.stage}: ECS Fargate API + worker, ALB, scaling, alarms, dashboard`
  })
  service.addStackDependency(stateful)
  for (const stack of [stateful, service]) {
    // Not on the types whose Tags cfn-lint's bundled schema does not know yet (CloudFormation does).
    const excludeResourceTypes = ['AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::ElasticLoadBalancingV2::Listener', 'AWS::CloudWatch::Dashboard']
    Tags.of(stack).add('project', 'labclimate', { excludeResourceTypes })
    Tags.of(stack).add('stage', config.stage, { excludeResourceTypes })
  }
  if (env.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
  return { config, stateful, service }
}
