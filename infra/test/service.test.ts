import { Match } from 'aws-cdk-lib/assertions'
import t from 'tap'
import { STAGES } from '../lib/config.ts'
import { synth } from './helper.ts'

// CDK synth (and cfn-lint) on a shared 2-core machine: allow more than tap's default 120 s.
t.setTimeout(300_000)

const prod = synth('prod', { certificateArn: 'arn:aws:acm:eu-central-1:111111111111:certificate/abc', alarmEmail: 'ops@example.org' })
const tpl = prod.serviceTemplate
const c = STAGES.prod

type Props = Record<string, any>
const all = (type: string): Array<[string, Props]> => Object.entries(tpl.findResources(type)).map(([id, r]) => [id, (r.Properties ?? {}) as Props])
const container = (name: string): Props => all('AWS::ECS::TaskDefinition')
  .map(([, p]) => (p.ContainerDefinitions as Props[])[0] as Props)
  .find((d) => d.Name === name) as Props

t.test('ECS Fargate cluster with Container Insights (in the release stack); API and worker services in private subnets', async (t) => {
  tpl.resourceCountIs('AWS::ECS::Cluster', 0)
  prod.releaseTemplate.resourceCountIs('AWS::ECS::Cluster', 1)
  prod.releaseTemplate.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] })
  tpl.resourceCountIs('AWS::ECS::Service', 2)
  for (const [, p] of all('AWS::ECS::Service')) {
    t.equal(p.LaunchType, 'FARGATE')
    t.equal(p.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, 'DISABLED')
    t.same(p.DeploymentConfiguration.DeploymentCircuitBreaker, { Enable: true, Rollback: true })
  }
  tpl.hasResourceProperties('AWS::ECS::TaskDefinition', {
    Cpu: String(c.api.cpu),
    Memory: String(c.api.memoryMiB),
    ContainerDefinitions: [Match.objectLike({ Name: 'api' })]
  })
  tpl.hasResourceProperties('AWS::ECS::TaskDefinition', {
    Cpu: String(c.worker.cpu),
    Memory: String(c.worker.memoryMiB),
    ContainerDefinitions: [Match.objectLike({ Name: 'worker' })]
  })
})

t.test('no service task gets a database password: each connects as its own IAM user over TLS', async (t) => {
  for (const [name, user] of [['api', 'labclimate_api'], ['worker', 'labclimate_worker'], ['maintenance', 'labclimate_maintenance']] as const) {
    const d = container(name)
    t.ok(d, `${name} container`)
    const env = Object.fromEntries((d.Environment as Array<{ Name: string, Value: unknown }>).map((e) => [e.Name, e.Value]))
    t.equal(d.Secrets, undefined, `${name}: no ECS secrets (the master secret is only the release task's)`)
    t.notOk('DB_PASSWORD' in env || 'DB_USER' in env || 'DB_HOST' in env, `${name}: no DB_* password plumbing`)
    t.notMatch(JSON.stringify(env.DATABASE_URL), /:[^/@"]*@/, `${name}: no password in DATABASE_URL`)
    t.match(JSON.stringify(env.DATABASE_URL), new RegExp(`mysql://${user}@`), `${name}: connects as ${user}`)
    t.match(JSON.stringify(env.DATABASE_URL), /EndpointAddress/, `${name}: writer endpoint`)
    t.equal(env.DATABASE_IAM_AUTH, 'true', `${name}: IAM token per connection`)
    t.equal(env.DATABASE_TLS, 'true', `${name}: TLS`)
    t.equal(env.AWS_REGION, 'eu-central-1', `${name}: region for the token signer`)
    t.equal(d.ReadonlyRootFilesystem, true)
    t.same(d.MountPoints, [{ ContainerPath: '/tmp', SourceVolume: 'tmp', ReadOnly: false }], `${name}: writable /tmp only`)
  }
  t.equal(container('api').StopTimeout, 30)
  t.equal(container('worker').StopTimeout, 30)
})

t.test('both containers have a health check: the API asks /health/live, the worker shows its liveness file is fresh', async (t) => {
  t.match(JSON.stringify(container('api').HealthCheck?.Command), /\/health\/live/)
  const worker = container('worker').HealthCheck?.Command as string[] | undefined
  t.equal(worker?.[0], 'CMD-SHELL')
  t.match(worker?.[1], /find "\$WORKER_LIVENESS_FILE" -mmin -1/, 'the same check as the image HEALTHCHECK (Dockerfile.worker)')
})

t.test('API behind an HTTPS ALB: liveness health check, deregistration shorter than the stop timeout', async (t) => {
  tpl.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1)
  tpl.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' })
  tpl.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS' })
  tpl.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, DefaultActions: [Match.objectLike({ Type: 'redirect' })] })
  const [[, tg]] = all('AWS::ElasticLoadBalancingV2::TargetGroup') as [[string, Props]]
  // Liveness: a database blip must not make the ALB (and so ECS) replace every API task.
  t.equal(tg.HealthCheckPath, '/health/live')
  t.equal(tg.Port, 3000)
  const delay = Number((tg.TargetGroupAttributes as Array<{ Key: string, Value: string }>).find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value)
  t.ok(delay > 0 && delay < 30, `deregistration delay ${delay}s < 30 s stop timeout`)
})

t.test('live posting by the whole fleet does not pin the API at its maximum', async (t) => {
  // 46,000 labs each posting a reading every 30 s: 92,000 requests a minute across the service.
  const liveRequestsPerMinute = 46_000 * 2
  const policy = all('AWS::ApplicationAutoScaling::ScalingPolicy').map(([, p]) => p.TargetTrackingScalingPolicyConfiguration)
    .find((c) => c?.PredefinedMetricSpecification?.PredefinedMetricType === 'ALBRequestCountPerTarget')
  const tasks = Math.ceil(liveRequestsPerMinute / Number(policy?.TargetValue))
  t.ok(tasks <= 2, `request-count scaling asks for ${tasks} tasks for the live fleet (of at most ${c.api.maxTasks})`)
})

t.test('API scales on CPU and on requests per target', async (t) => {
  const scalable = all('AWS::ApplicationAutoScaling::ScalableTarget').map(([, p]) => p)
  t.equal(scalable.length, 2)
  t.ok(scalable.some((p) => p.MinCapacity === c.api.minTasks && p.MaxCapacity === c.api.maxTasks), 'API 2..20')
  t.ok(scalable.some((p) => p.MinCapacity === c.worker.minTasks && p.MaxCapacity === c.worker.maxTasks), 'worker 1..8')
  tpl.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    TargetTrackingScalingPolicyConfiguration: Match.objectLike({
      PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
      TargetValue: c.api.cpuTargetPercent
    })
  })
  tpl.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    TargetTrackingScalingPolicyConfiguration: Match.objectLike({
      PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }),
      TargetValue: c.api.requestsPerTargetPerMinute
    })
  })
})

t.test('before the 23:00 burst the floors rise to the capacity plan, and fall back after', async (t) => {
  const burst = c.burst
  if (burst === undefined) throw new Error('prod has a burst schedule')
  const scalable = all('AWS::ApplicationAutoScaling::ScalableTarget').map(([, p]) => p)
  const api = scalable.find((p) => p.MaxCapacity === c.api.maxTasks) as Props
  const worker = scalable.find((p) => p.MaxCapacity === c.worker.maxTasks) as Props
  const actions = (p: Props): Array<[string, number, string]> =>
    (p.ScheduledActions as Props[]).map((a) => [a.Schedule, a.ScalableTargetAction.MinCapacity, a.Timezone])
  t.same(actions(api), [['cron(50 22 * * ? *)', 4, 'UTC'], ['cron(30 23 * * ? *)', c.api.minTasks, 'UTC']])
  t.same(actions(worker), [['cron(50 22 * * ? *)', 4, 'UTC'], ['cron(30 23 * * ? *)', c.worker.minTasks, 'UTC']])
  t.equal(c.database.burstMinCapacityAcu, 4, 'Aurora burst floor from docs/capacity.md')
  t.equal(c.worker.maxTasks, 8)
})

t.test('worker scales on backlog per task through metric math', async (t) => {
  const policy = all('AWS::ApplicationAutoScaling::ScalingPolicy')
    .map(([, p]) => p)
    .find((p) => p.TargetTrackingScalingPolicyConfiguration?.CustomizedMetricSpecification !== undefined) as Props
  t.ok(policy, 'a customized-metric target tracking policy')
  const cfg = policy.TargetTrackingScalingPolicyConfiguration
  t.equal(cfg.TargetValue, c.worker.backlogPerTaskTarget)
  const metrics = cfg.CustomizedMetricSpecification.Metrics as Props[]
  const visible = metrics.find((m) => m.Id === 'visible') as Props
  const tasks = metrics.find((m) => m.Id === 'tasks') as Props
  const expr = metrics.find((m) => m.Expression !== undefined) as Props
  t.equal(visible.MetricStat.Metric.MetricName, 'ApproximateNumberOfMessagesVisible')
  t.equal(visible.MetricStat.Metric.Namespace, 'AWS/SQS')
  t.equal(tasks.MetricStat.Metric.MetricName, 'RunningTaskCount')
  t.equal(tasks.MetricStat.Metric.Namespace, 'ECS/ContainerInsights')
  t.equal(visible.ReturnData, false)
  t.equal(tasks.ReturnData, false)
  t.equal(expr.ReturnData, true)
  t.match(expr.Expression, /^visible \/ .*tasks/)
  t.match(JSON.stringify(policy.ScalingTargetId), /WorkerScalableTarget/)
})

t.test('least-privilege task roles from grant*()', async (t) => {
  const policies = all('AWS::IAM::Policy').map(([id, p]) => [id, JSON.stringify(p.PolicyDocument)] as const)
  const of = (prefix: string): string => policies.filter(([id]) => id.startsWith(prefix)).map(([, d]) => d).join('\n')
  const api = of('ApiTaskTaskRole')
  const worker = of('WorkerTaskTaskRole')
  const maintenance = of('MaintenanceTaskTaskRole')
  // rds-db:connect as the role's own database user, and as no other.
  const connects = (doc: string): string[] => [...doc.matchAll(/dbuser:[^\]]*?\/(labclimate_\w+)/g)].map((m) => m[1] as string)
  t.same(connects(api), ['labclimate_api'])
  t.same(connects(worker), ['labclimate_worker'])
  t.same(connects(maintenance), ['labclimate_maintenance'])
  t.match(api, /sqs:SendMessage/)
  t.notMatch(api, /sqs:ReceiveMessage|sqs:DeleteMessage|s3:/)
  t.match(worker, /sqs:ReceiveMessage/)
  t.match(worker, /sqs:DeleteMessage/)
  t.notMatch(worker, /sqs:SendMessage|s3:/)
  t.match(maintenance, /s3:PutObject/)
  t.match(maintenance, /s3:GetObject/)
  t.notMatch(maintenance, /s3:DeleteObject|sqs:/)
  t.match(maintenance, /labclimate-prod-archive-111111111111-eu-central-1/)
  t.notMatch(api + worker + maintenance, /"Action":"\*"|"Resource":"\*"/, 'no wildcard action or resource on task roles')
  t.notMatch(api + worker + maintenance, /secretsmanager:/, 'no task role reads a secret')
  const executionPolicies = policies.filter(([id]) => /ExecutionRole/.test(id)).map(([, d]) => d).join('\n')
  t.notMatch(executionPolicies, /secretsmanager:/, 'no execution role fetches the master secret')
})

t.test('hourly maintenance job: scheduled Fargate task with the worker image and the archive env', async (t) => {
  tpl.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'cron(7 * * * ? *)',
    Targets: [Match.objectLike({ EcsParameters: Match.objectLike({ LaunchType: 'FARGATE' }) })]
  })
  const d = container('maintenance')
  t.same(d.Command, ['node', 'dist/maintenance-main.js'])
  const env = Object.fromEntries((d.Environment as Array<{ Name: string, Value: unknown }>).map((e) => [e.Name, e.Value]))
  t.equal(env.ARCHIVE_BUCKET, 'labclimate-prod-archive-111111111111-eu-central-1')
  for (const n of ['RETENTION_RAW_DAYS', 'RETENTION_MINUTE_DAYS', 'RETENTION_HOUR_DAYS']) t.ok(env[n], n)
  t.equal(JSON.stringify(d.Image), JSON.stringify(container('worker').Image), 'same image as the worker')
})

t.test('log groups have retention', async (t) => {
  const groups = all('AWS::Logs::LogGroup')
  t.equal(groups.length, 3)
  for (const [, p] of groups) t.equal(p.RetentionInDays, c.logRetentionDays)
})

t.test('the API and the maintenance task get the same retention (the stage\'s archive settings)', async (t) => {
  const retention = (name: string): Record<string, unknown> => Object.fromEntries((container(name).Environment as Array<{ Name: string, Value: unknown }>)
    .filter((e) => e.Name.startsWith('RETENTION_')).map((e) => [e.Name, e.Value]))
  // An API assuming longer raw retention than maintenance keeps answers empty days instead of minute rollups.
  t.same(retention('api'), retention('maintenance'), 'same RETENTION_* in both tasks')
  t.same(retention('maintenance'), {
    RETENTION_RAW_DAYS: String(c.archive.rawDays),
    RETENTION_MINUTE_DAYS: String(c.archive.minuteDays),
    RETENTION_HOUR_DAYS: String(c.archive.hourDays)
  })
})
