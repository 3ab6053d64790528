// Builds the labclimate stacks into an App. The environment (account, region, stage, certificate,
// alarm e-mail) is read only in bin/labclimate.ts and handed in here.
import { App, Tags, Validations } from 'aws-cdk-lib'
import { AwsSolutionsChecks } from 'cdk-nag'
import { fileURLToPath } from 'node:url'
import { stageConfig, type StageConfig } from './config.ts'
import { ReleaseStack } from './release-stack.ts'
import { ServiceStack } from './service-stack.ts'
import { StatefulStack } from './stateful-stack.ts'

// The workspace root: the Docker build context of both images (their Dockerfiles and the lockfile live there).
// eslint-disable-next-line labclimate/no-cross-package-paths -- a build context, not code this package imports
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface LabclimateEnv {
  stage: string
  account: string
  region: string
  availabilityZones: [string, string]
  certificateArn?: string | undefined
  /** Optional alias record for the API: a name in a public Route 53 hosted zone of the account. */
  domain?: { name: string, hostedZoneId: string } | undefined
  /** The fleet's IANA time zone for the burst schedules (default: the stage config's, UTC). */
  burstTimeZone?: string | undefined
  alarmEmail?: string | undefined
  /** Run cdk-nag AwsSolutions checks during synth (default true). */
  nag?: boolean
}

export interface LabclimateStacks { config: StageConfig, stateful: StatefulStack, release: ReleaseStack, service: ServiceStack }

export function buildLabclimate (app: App, env: LabclimateEnv): LabclimateStacks {
  // Cross-stack references stay "strong" (CloudFormation exports protect the producer); said explicitly.
  if (app.node.tryGetContext('@aws-cdk/core:defaultCrossStackReferences') === undefined && app.node.children.length === 0) {
    app.node.setContext('@aws-cdk/core:defaultCrossStackReferences', 'strong')
  }
  const config = stageConfig(env.stage, env.availabilityZones, { burstTimeZone: env.burstTimeZone })
  const awsEnv = { account: env.account, region: env.region }
  const name = (part: string): string => `Labclimate-${config.stage}-${part}`
  const stateful = new StatefulStack(app, name('Stateful'), {
    env: awsEnv,
    config,
    description: `labclimate ${config.stage}: network, Aurora MySQL, SQS, buckets`,
    terminationProtection: config.stage === 'prod'
  })
  // Deployed (by scripts/deploy.sh) and its release task run before the services roll.
  const release = new ReleaseStack(app, name('Release'), {
    env: awsEnv,
    config,
    stateful,
    repoRoot: REPO_ROOT,
    description: `labclimate ${config.stage}: ECS cluster, release task (migrations, DB users, first admin key), admin CLI task`
  })
  release.addStackDependency(stateful)
  const service = new ServiceStack(app, name('Service'), {
    env: awsEnv,
    config,
    stateful,
    release,
    repoRoot: REPO_ROOT,
    certificateArn: env.certificateArn,
    domain: env.domain,
    alarmEmail: env.alarmEmail,
    description: `labclimate ${config.stage}: ECS Fargate API + worker, ALB + WAF, scaling, alarms, dashboard`
  })
  service.addStackDependency(stateful)
  service.addStackDependency(release)
  for (const stack of [stateful, release, service]) {
    // Not on the types whose Tags cfn-lint's bundled schema does not know yet (CloudFormation does).
    const excludeResourceTypes = ['AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::ElasticLoadBalancingV2::Listener', 'AWS::CloudWatch::Dashboard']
    Tags.of(stack).add('project', 'labclimate', { excludeResourceTypes })
    Tags.of(stack).add('stage', config.stage, { excludeResourceTypes })
  }
  if (env.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
  return { config, stateful, release, service }
}
