import { Match } from 'aws-cdk-lib/assertions'
import t from 'tap'
import { STAGES } from '../lib/config.ts'
import { synth } from './helper.ts'

// CDK synth (and cfn-lint) on a shared 2-core machine: allow more than tap's default 120 s.
t.setTimeout(300_000)

const dev = synth('dev')
const prod = synth('prod')

t.test('network: one VPC over 2 AZs with public, private (egress) and isolated subnets', async (t) => {
  const tpl = prod.statefulTemplate
  tpl.resourceCountIs('AWS::EC2::VPC', 1)
  tpl.resourceCountIs('AWS::EC2::Subnet', 6)
  const subnets = tpl.findResources('AWS::EC2::Subnet')
  const azs = new Set(Object.values(subnets).map((s) => (s.Properties as { AvailabilityZone: string }).AvailabilityZone))
  t.same([...azs].sort(), ['eu-central-1a', 'eu-central-1b'])
  const types = Object.values(subnets)
    .map((s) => ((s.Properties as { Tags: { Key: string, Value: string }[] }).Tags.find((tag) => tag.Key === 'aws-cdk:subnet-type')?.Value))
  t.same(types.sort(), ['Isolated', 'Isolated', 'Private', 'Private', 'Public', 'Public'])
  tpl.resourceCountIs('AWS::EC2::NatGateway', 2)
  dev.statefulTemplate.resourceCountIs('AWS::EC2::NatGateway', 1)
  tpl.resourceCountIs('AWS::EC2::FlowLog', 1)
})

t.test('the database lives only in the isolated subnets', async (t) => {
  const isolated = prod.stateful.vpc.isolatedSubnets.map((s) => prod.stateful.resolve(s.subnetId) as unknown)
  const groups = prod.statefulTemplate.findResources('AWS::RDS::DBSubnetGroup')
  t.equal(Object.keys(groups).length, 1)
  const ids = (Object.values(groups)[0]?.Properties as { SubnetIds: unknown[] }).SubnetIds
  t.same(ids, isolated, 'DB subnet group = isolated subnets')
  t.equal(isolated.length, 2)
})

t.test('only the API and worker tasks (and secret rotation) reach the database', async (t) => {
  const s = prod.stateful
  const dbSg = s.resolve(s.databaseSecurityGroup.securityGroupId) as { 'Fn::GetAtt': string[] }
  const ingress = Object.values(prod.statefulTemplate.findResources('AWS::EC2::SecurityGroupIngress'))
    .map((r) => r.Properties as Record<string, unknown>)
    .filter((p) => JSON.stringify(p.GroupId) === JSON.stringify(dbSg))
  const sources = ingress.map((p) => JSON.stringify(p.SourceSecurityGroupId)).sort()
  t.equal(ingress.length, 3, 'three ingress rules on the database group')
  // The rotation rule names the cluster's port attribute (3306) instead of the literal.
  const port = (v: unknown): boolean => v === 3306 || JSON.stringify(v).includes('Endpoint.Port')
  t.ok(ingress.every((p) => port(p.FromPort) && port(p.ToPort) && p.IpProtocol === 'tcp'), 'all on the database port (3306/tcp)')
  t.ok(ingress.every((p) => p.CidrIp === undefined && p.CidrIpv6 === undefined), 'no CIDR ingress')
  const expected = [s.apiSecurityGroup.securityGroupId, s.workerSecurityGroup.securityGroupId].map((id) => JSON.stringify(s.resolve(id)))
  for (const e of expected) t.ok(sources.includes(e), `ingress from ${e}`)
  t.ok(sources.some((src) => src.includes('Rotation')), 'ingress from the rotation function\'s group')
  const dbSgProps = Object.entries(prod.statefulTemplate.findResources('AWS::EC2::SecurityGroup'))
    .find(([id]) => id === dbSg['Fn::GetAtt'][0])?.[1].Properties as { SecurityGroupIngress?: unknown[] }
  t.same(dbSgProps.SecurityGroupIngress ?? [], [], 'no inline ingress on the database group')
})

t.test('Aurora MySQL 3, Serverless v2 sized from the stage config, encrypted, backed up, protected in prod', async (t) => {
  for (const [stage, s] of [['dev', dev], ['prod', prod]] as const) {
    const c = STAGES[stage].database
    s.statefulTemplate.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-mysql',
      EngineVersion: Match.stringLikeRegexp('^8\\.0\\.mysql_aurora\\.3\\.'),
      ServerlessV2ScalingConfiguration: { MinCapacity: c.minCapacityAcu, MaxCapacity: c.maxCapacityAcu },
      StorageEncrypted: true,
      BackupRetentionPeriod: c.backupRetentionDays,
      DeletionProtection: c.deletionProtection,
      DatabaseName: 'labclimate'
    })
    s.statefulTemplate.resourceCountIs('AWS::RDS::DBInstance', 1 + c.readers)
    s.statefulTemplate.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless' })
    s.statefulTemplate.resourceCountIs('AWS::SecretsManager::Secret', 2) // master user, first admin key
    s.statefulTemplate.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1)
  }
  t.equal(Object.keys(prod.statefulTemplate.findResources('AWS::RDS::DBCluster', { UpdateReplacePolicy: 'Snapshot' })).length, 1,
    'prod cluster snapshots when replaced')
  t.equal(Object.keys(prod.statefulTemplate.findResources('AWS::RDS::DBCluster', { DeletionPolicy: 'Snapshot' })).length, 1, 'prod cluster snapshots on delete')
  t.equal(Object.keys(prod.statefulTemplate.findResources('AWS::RDS::DBCluster', { Properties: { DeletionProtection: true } })).length, 1,
    'prod cluster has deletion protection in the template')
})

t.test('dev can be destroyed and deployed again: nothing retained, no fixed names that would collide', async (t) => {
  for (const s of [dev.statefulTemplate, dev.releaseTemplate, dev.serviceTemplate]) {
    const resources = Object.entries(s.toJSON().Resources as Record<string, { Type: string, DeletionPolicy?: string, Properties?: Record<string, unknown> }>)
    const retained = resources.filter(([, r]) => r.DeletionPolicy === 'Retain' || r.DeletionPolicy === 'RetainExceptOnCreate').map(([id]) => id)
    t.same(retained, [], 'no resource outlives cdk destroy')
  }
  const buckets = Object.values(dev.statefulTemplate.findResources('AWS::S3::Bucket')).map((r) => r.Properties as Record<string, unknown>)
  t.equal(buckets.length, 2)
  t.ok(buckets.every((b) => b.BucketName === undefined), 'bucket names generated')
  dev.statefulTemplate.resourceCountIs('Custom::S3AutoDeleteObjects', 2)
  const secrets = Object.values(dev.statefulTemplate.findResources('AWS::SecretsManager::Secret')).map((r) => r.Properties as Record<string, unknown>)
  t.ok(secrets.every((p) => p.Name === undefined), 'secret names generated (a destroyed secret keeps its name for its recovery window)')
  // Prod keeps what holds data.
  t.equal(Object.keys(prod.statefulTemplate.findResources('AWS::S3::Bucket', { DeletionPolicy: 'Retain' })).length, 2, 'prod buckets retained')
})

t.test('SQS queue + DLQ: redrive, encryption, size and retention set explicitly', async (t) => {
  const q = STAGES.prod.queue
  const queues = Object.values(prod.statefulTemplate.findResources('AWS::SQS::Queue')).map((r) => r.Properties as Record<string, unknown>)
  t.equal(queues.length, 2)
  const main = queues.find((p) => p.RedrivePolicy !== undefined) as Record<string, unknown>
  const dlq = queues.find((p) => p.RedrivePolicy === undefined) as Record<string, unknown>
  t.equal((main.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount, q.maxReceiveCount)
  t.equal(main.MessageRetentionPeriod, q.retentionDays * 86400)
  t.equal(dlq.MessageRetentionPeriod, q.dlqRetentionDays * 86400)
  for (const p of [main, dlq]) {
    t.equal(p.SqsManagedSseEnabled, true)
    t.equal(p.MaximumMessageSize, 262144)
  }
  t.equal(main.VisibilityTimeout, q.visibilityTimeoutSeconds)
  t.equal(Object.keys(prod.statefulTemplate.findResources('AWS::SQS::QueuePolicy')).length, 2, 'both queues deny non-TLS access')
})

t.test('archive bucket: encrypted, private, TLS only, to Glacier Instant Retrieval after 30 days', async (t) => {
  prod.statefulTemplate.hasResourceProperties('AWS::S3::Bucket', {
    BucketName: 'labclimate-prod-archive-111111111111-eu-central-1',
    BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }] })]) }
  })
  prod.statefulTemplate.hasResourceProperties('AWS::S3::BucketPolicy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) }
  })
  t.pass()
})
