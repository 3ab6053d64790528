// Logical IDs that must not change: CloudFormation replaces a resource whose ID changes. For these the
// replacement fails (a second log group or listener of the same name or port) or hurts: a new ALB gets a new
// DNS name clients point at, a second ECS service runs beside the first, a scalable target or named policy
// registered again is then deregistered by the old one's deletion.
import t from 'tap'
import { synth } from './helper.ts'

// CDK synth on a shared 2-core machine: allow more than tap's default 120 s.
t.setTimeout(300_000)

const SERVICE = {
  'AWS::ElasticLoadBalancingV2::LoadBalancer': ['Alb16C2F182'],
  'AWS::ElasticLoadBalancingV2::Listener': ['AlbHttpsB7CA700A', 'AlbRedirect80To443C790C012'],
  'AWS::ElasticLoadBalancingV2::TargetGroup': ['AlbHttpsApiTargetsGroupAE9743B1'],
  'AWS::WAFv2::WebACL': ['WafWebAclBE24253C'],
  'AWS::WAFv2::WebACLAssociation': ['WafAssociationDD3C2DE9'],
  'AWS::ECS::Service': ['ApiService89E3D990', 'WorkerService9FFC549A'],
  'AWS::ApplicationAutoScaling::ScalableTarget': ['ApiTaskCountTarget0A7751E6', 'WorkerScalableTarget017C0E7C'],
  'AWS::ApplicationAutoScaling::ScalingPolicy': ['ApiTaskCountTargetCpuDE7AC0EF', 'ApiTaskCountTargetRequestsCE111836', 'WorkerBacklogPerTask'],
  'AWS::Logs::LogGroup': ['ApiLogs3D05D88B', 'WorkerLogsC1193B08', 'MaintenanceLogs61C6A99C'],
  'AWS::Events::Rule': ['MaintenanceScheduledEventRule9FEDAE38'],
  'AWS::KMS::Key': ['MonitoringAlarmTopicKeyFFA45DC9'],
  'AWS::SNS::Topic': ['MonitoringAlarms66989066'],
  'AWS::CloudWatch::Dashboard': ['MonitoringDashboard0C3675C6']
}
const RELEASE = {
  'AWS::ECS::Cluster': ['ClusterEB0386A7'],
  'AWS::Logs::LogGroup': ['ReleaseLogs418FA2A6'],
  'AWS::ECS::TaskDefinition': ['ReleaseTaskE2D9EA96', 'AdminTaskD8C87731']
}
const STATEFUL = {
  'AWS::SQS::Queue': ['Readings9F99D490', 'ReadingsDlq30B590F2'],
  'AWS::RDS::DBCluster': ['Aurora2CBAB212'],
  'AWS::S3::Bucket': ['AccessLogs8B620ECA', 'ArchiveDA4CB258'],
  'AWS::EC2::SecurityGroup': ['Alb16C2F182', 'ApiTasksFFA582E1', 'WorkerTasks424CC51C', 'DatabaseB269D8BB', 'AuroraRotationSingleUserSecurityGroup6223D553']
}

const prod = synth('prod')
const stacks = [['service', prod.serviceTemplate, SERVICE], ['release', prod.releaseTemplate, RELEASE], ['stateful', prod.statefulTemplate, STATEFUL]] as const
for (const [name, template, expected] of stacks) {
  t.test(`${name} stack keeps the logical IDs operators depend on`, async (t) => {
    for (const [type, ids] of Object.entries(expected)) {
      t.same(Object.keys(template.findResources(type)).sort(), [...ids].sort(), type)
    }
  })
}
