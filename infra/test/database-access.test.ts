// Issue 11 on the database side of the CDK app: per-role IAM users, TLS required, reads on the reader,
// and Aurora capacity that costs a high floor only around the burst, in the fleet's time zone.
import { App } from 'aws-cdk-lib'
import { Template } from 'aws-cdk-lib/assertions'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildLabclimate } from '../lib/app.ts'
import { ROLE_NAMES, roleUserName } from '@labclimate/admin'
import { STAGES } from '../lib/config.ts'
import { DB_USERS } from '../lib/constructs/database-access.ts'
import { synth, TEST_CERTIFICATE_ARN } from './helper.ts'

// CDK synth on a shared 2-core machine: allow more than tap's default 120 s.
t.setTimeout(300_000)

type Props = Record<string, any>
const prod = synth('prod')
const dev = synth('dev')
const resources = (tpl: Template, type: string): Array<[string, Props]> =>
  Object.entries(tpl.findResources(type)).map(([id, r]) => [id, (r.Properties ?? {}) as Props])
const containers = (tpl: Template): Props[] => resources(tpl, 'AWS::ECS::TaskDefinition').map(([, p]) => (p.ContainerDefinitions as Props[])[0] as Props)
// A Fn::Join of literal JSON and references, as a string with each reference as "<ref>".
const flatten = (v: unknown): string => typeof v === 'string'
  ? v
  : ((v as Props)['Fn::Join'][1] as unknown[]).map((x) => typeof x === 'string' ? x : '<ref>').join('')
const envOf = (d: Props): Record<string, unknown> =>
  Object.fromEntries((d.Environment as Array<{ Name: string, Value: unknown }>).map((e) => [e.Name, e.Value]))

t.test('every task role may connect to Aurora only as its own database user', async (t) => {
  // Which roles hold rds-db:connect, as which users, across both stacks that run tasks.
  const grants: Array<[string, string]> = []
  for (const tpl of [prod.serviceTemplate, prod.releaseTemplate]) {
    for (const [id, p] of resources(tpl, 'AWS::IAM::Policy')) {
      for (const statement of p.PolicyDocument.Statement as Props[]) {
        const actions = ([] as string[]).concat(statement.Action)
        if (!actions.some((a) => a.startsWith('rds-db:'))) continue
        t.same(actions, ['rds-db:connect'], `${id}: connect only`)
        const resource = JSON.stringify(statement.Resource)
        t.match(resource, /:dbuser:.*DBClusterResourceId/, `${id}: a dbuser of this cluster, not *`)
        grants.push([id.replace(/TaskRoleDefaultPolicy.*/, ''), /\/(labclimate_\w+)"/.exec(resource)?.[1] ?? '?'])
      }
    }
  }
  t.same(grants.sort(), [
    ['AdminTask', 'labclimate_migrate'],
    ['ApiTask', 'labclimate_api'],
    ['MaintenanceTask', 'labclimate_maintenance'],
    ['WorkerTask', 'labclimate_worker']
  ])
})

t.test('the users the CDK app grants are the users bootstrap creates (@labclimate/admin, default prefix)', async (t) => {
  t.same(Object.keys(DB_USERS).sort(), [...ROLE_NAMES].sort())
  for (const role of ROLE_NAMES) t.equal(DB_USERS[role], roleUserName('labclimate_', role), role)
})

t.test('the cluster requires TLS and keeps a slow-query log (cluster parameter group)', async (t) => {
  const groups = resources(prod.statefulTemplate, 'AWS::RDS::DBClusterParameterGroup')
  t.equal(groups.length, 1)
  const [groupId, group] = groups[0] as [string, Props]
  t.equal(group.Parameters.require_secure_transport, 'ON')
  t.equal(group.Parameters.slow_query_log, '1')
  t.equal(group.Parameters.log_output, 'FILE', 'the slow log goes to files, which RDS exports to CloudWatch')
  t.ok(Number(group.Parameters.long_query_time) > 0)
  const [[, cluster]] = resources(prod.statefulTemplate, 'AWS::RDS::DBCluster') as [[string, Props]]
  t.same(cluster.DBClusterParameterGroupName, { Ref: groupId }, 'the cluster uses it')
  t.ok((cluster.EnableCloudwatchLogsExports as string[]).includes('slowquery'))
  t.equal(cluster.EnableIAMDatabaseAuthentication, true)
})

t.test('the API reads from the reader endpoint and writes to the writer; other roles use the writer', async (t) => {
  const byName = Object.fromEntries(containers(prod.serviceTemplate).map((d) => [d.Name, envOf(d)]))
  const api = byName.api as Record<string, unknown>
  t.match(JSON.stringify(api.DATABASE_READ_URL), /mysql:\/\/labclimate_api@.*ReadEndpointAddress.*:3306\/labclimate/)
  t.match(JSON.stringify(api.DATABASE_URL), /mysql:\/\/labclimate_api@.*Aurora\w*EndpointAddress\w*".*:3306\/labclimate/)
  t.notMatch(JSON.stringify(api.DATABASE_URL), /ReadEndpoint/)
  for (const name of ['worker', 'maintenance']) {
    const env = byName[name] as Record<string, unknown>
    t.equal(env.DATABASE_READ_URL, undefined, `${name}: no reader`)
    t.notMatch(JSON.stringify(env.DATABASE_URL), /ReadEndpoint/, `${name}: writer`)
  }
  // The worker's user has no DDL rights: the release task migrates, the worker must not try at start.
  t.equal((byName.worker as Record<string, unknown>).MIGRATE_ON_START, 'false')
})

t.test('the reader does not double the always-on cost: it scales on its own reads', async (t) => {
  const instances = resources(prod.statefulTemplate, 'AWS::RDS::DBInstance').map(([, p]) => p)
  t.equal(instances.length, 2)
  const reader = instances.find((p) => p.PromotionTier !== 0 && p.PromotionTier !== undefined)
  t.ok(reader, 'one reader instance')
  t.ok((reader?.PromotionTier as number) >= 2, 'promotion tier 2+: not sized with the writer (tiers 0-1 follow the writer)')
  t.equal(STAGES.prod.database.readerScalesWithWriter, false)
})

t.test('Aurora floor: 0.5 ACU all day, raised by a schedule only around the burst, in the fleet time zone', async (t) => {
  const [[, cluster]] = resources(prod.statefulTemplate, 'AWS::RDS::DBCluster') as [[string, Props]]
  t.same(cluster.ServerlessV2ScalingConfiguration, { MinCapacity: 0.5, MaxCapacity: 64 })
  const schedules = resources(prod.statefulTemplate, 'AWS::Scheduler::Schedule').map(([, p]) => p)
  t.equal(schedules.length, 2)
  const summary = schedules.map((p) => {
    const input = JSON.parse(flatten(p.Target.Input)) as Props
    t.equal(input.DbClusterIdentifier, '<ref>', 'names the cluster by reference')
    return [p.ScheduleExpression, p.ScheduleExpressionTimezone, p.Target.Arn, input.ServerlessV2ScalingConfiguration?.MinCapacity]
  }).sort()
  t.same(summary, [
    ['cron(30 23 * * ? *)', 'UTC', 'arn:aws:scheduler:::aws-sdk:rds:modifyDBCluster', 0.5],
    ['cron(40 22 * * ? *)', 'UTC', 'arn:aws:scheduler:::aws-sdk:rds:modifyDBCluster', 4]
  ])
  // The schedules may change this cluster and nothing else.
  const roleIds = new Set(schedules.map((p) => JSON.stringify(p.Target.RoleArn)))
  t.equal(roleIds.size, 1)
  const policy = resources(prod.statefulTemplate, 'AWS::IAM::Policy').find(([id]) => id.startsWith('AuroraBurstFloor'))?.[1] as Props
  t.same(policy.PolicyDocument.Statement.map((s: Props) => s.Action), ['rds:ModifyDBCluster'])
  t.match(JSON.stringify(policy.PolicyDocument.Statement[0].Resource), /:cluster:/)
})

t.test('dev may pause at 0 ACU and has no burst schedule', async (t) => {
  const [[, cluster]] = resources(dev.statefulTemplate, 'AWS::RDS::DBCluster') as [[string, Props]]
  t.equal(cluster.ServerlessV2ScalingConfiguration.MinCapacity, 0)
  t.equal(cluster.ServerlessV2ScalingConfiguration.SecondsUntilAutoPause, 600)
  dev.statefulTemplate.resourceCountIs('AWS::Scheduler::Schedule', 0)
})

t.test('burstTimeZone moves every burst schedule (ECS floors and Aurora floor) to the fleet time zone', async (t) => {
  const outdir = mkdtempSync(join(tmpdir(), 'labclimate-cdk-tz-'))
  const app = new App({ outdir })
  const stacks = buildLabclimate(app, {
    stage: 'prod',
    account: '111111111111',
    region: 'eu-central-1',
    availabilityZones: ['eu-central-1a', 'eu-central-1b'],
    certificateArn: TEST_CERTIFICATE_ARN,
    burstTimeZone: 'Europe/Berlin',
    nag: false
  })
  const service = Template.fromStack(stacks.service)
  const stateful = Template.fromStack(stacks.stateful)
  const actions = resources(service, 'AWS::ApplicationAutoScaling::ScalableTarget').flatMap(([, p]) => p.ScheduledActions as Props[])
  t.equal(actions.length, 4)
  t.same([...new Set(actions.map((a) => a.Timezone))], ['Europe/Berlin'], 'ECS floors at 22:50 Berlin time, summer and winter')
  t.same(resources(stateful, 'AWS::Scheduler::Schedule').map(([, p]) => p.ScheduleExpressionTimezone), ['Europe/Berlin', 'Europe/Berlin'])
  t.throws(() => buildLabclimate(new App({ outdir: mkdtempSync(join(tmpdir(), 'labclimate-cdk-tz-')) }), {
    stage: 'prod',
    account: '111111111111',
    region: 'eu-central-1',
    availabilityZones: ['eu-central-1a', 'eu-central-1b'],
    certificateArn: TEST_CERTIFICATE_ARN,
    burstTimeZone: 'CET+1'
  }), /IANA/)
})
