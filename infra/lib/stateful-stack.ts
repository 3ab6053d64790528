// Everything that holds data or addresses: network, security groups, Aurora MySQL, SQS, buckets.
// Services come and go in ServiceStack; this stack is deployed first and changed rarely.
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as logs from 'aws-cdk-lib/aws-logs'
import * as rds from 'aws-cdk-lib/aws-rds'
import * as s3 from 'aws-cdk-lib/aws-s3'
import * as sqs from 'aws-cdk-lib/aws-sqs'
import type { Construct } from 'constructs'
import type { StageConfig } from './config.ts'

export interface StatefulStackProps extends StackProps { config: StageConfig }

export const DB_PORT = 3306
export const DB_NAME = 'labclimate'
export const API_PORT = 3000

export class StatefulStack extends Stack {
  readonly vpc: ec2.Vpc
  readonly apiSecurityGroup: ec2.SecurityGroup
  readonly workerSecurityGroup: ec2.SecurityGroup
  readonly databaseSecurityGroup: ec2.SecurityGroup
  readonly albSecurityGroup: ec2.SecurityGroup
  readonly database: rds.DatabaseCluster
  readonly queue: sqs.Queue
  readonly deadLetterQueue: sqs.Queue
  readonly archiveBucket: s3.Bucket
  readonly archiveBucketName: string
  readonly logsBucket: s3.Bucket
  private readonly azs: string[]

  constructor (scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props)
    const { config } = props
    this.azs = config.availabilityZones
    const prod = config.stage === 'prod'
    const retain = prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY

    // ---- network: 2 AZs x (public, private with egress, isolated) ----
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(config.vpcCidr),
      availabilityZones: config.availabilityZones,
      natGateways: config.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }
      ],
      restrictDefaultSecurityGroup: true
    })
    const flowLogs = new logs.LogGroup(this, 'VpcFlowLogs', { retention: config.logRetentionDays, removalPolicy: retain })
    this.vpc.addFlowLog('FlowLogs', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.REJECT })
    // S3 traffic (the archive) stays on the AWS network and costs no NAT processing.
    this.vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3 })

    // ---- security groups: only the API and worker tasks (and secret rotation) reach the database ----
    this.apiSecurityGroup = new ec2.SecurityGroup(this, 'ApiTasks', { vpc: this.vpc, description: 'labclimate API tasks', allowAllOutbound: true })
    this.workerSecurityGroup = new ec2.SecurityGroup(this, 'WorkerTasks', { vpc: this.vpc, description: 'labclimate worker and maintenance tasks', allowAllOutbound: true })
    this.databaseSecurityGroup = new ec2.SecurityGroup(this, 'Database', { vpc: this.vpc, description: 'labclimate Aurora MySQL', allowAllOutbound: false })
    // The public ALB reaches the API tasks on their port, and nothing else reaches them.
    this.albSecurityGroup = new ec2.SecurityGroup(this, 'Alb', { vpc: this.vpc, description: 'labclimate public ALB', allowAllOutbound: false })
    this.albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS from devices and users')
    this.albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP (redirected to HTTPS when a certificate is set)')
    this.albSecurityGroup.addEgressRule(this.apiSecurityGroup, ec2.Port.tcp(API_PORT), 'to API tasks')
    this.apiSecurityGroup.addIngressRule(this.albSecurityGroup, ec2.Port.tcp(API_PORT), 'from the ALB')
    Validations.of(this.albSecurityGroup).acknowledge({ id: 'AwsSolutions-EC23', reason: 'Public ingest endpoint: lab devices upload from anywhere on the internet; only 80 (redirect) and 443 are open, and API keys authenticate every device.' })
    this.databaseSecurityGroup.addIngressRule(this.apiSecurityGroup, ec2.Port.tcp(DB_PORT), 'API tasks')
    this.databaseSecurityGroup.addIngressRule(this.workerSecurityGroup, ec2.Port.tcp(DB_PORT), 'worker and maintenance tasks')

    // ---- Aurora MySQL 3, Serverless v2, only in the isolated subnets ----
    this.database = new rds.DatabaseCluster(this, 'Aurora', {
      engine: rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_10_4 }),
      credentials: rds.Credentials.fromGeneratedSecret('labclimate_admin', { secretName: `labclimate/${config.stage}/db` }),
      defaultDatabaseName: DB_NAME,
      port: DB_PORT,
      writer: rds.ClusterInstance.serverlessV2('writer', { enablePerformanceInsights: true }),
      readers: Array.from({ length: config.database.readers }, (_, i) => rds.ClusterInstance.serverlessV2(`reader${i + 1}`, { scaleWithWriter: true, enablePerformanceInsights: true })),
      serverlessV2MinCapacity: config.database.minCapacityAcu,
      serverlessV2MaxCapacity: config.database.maxCapacityAcu,
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.databaseSecurityGroup],
      storageEncrypted: true,
      iamAuthentication: true,
      backup: { retention: Duration.days(config.database.backupRetentionDays), preferredWindow: '01:30-02:30' },
      preferredMaintenanceWindow: 'sun:03:00-sun:04:00',
      deletionProtection: config.database.deletionProtection,
      removalPolicy: prod ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      cloudwatchLogsExports: ['error', 'slowquery', 'audit'],
      cloudwatchLogsRetention: config.logRetentionDays,
      monitoringInterval: Duration.seconds(60)
    })
    Validations.of(this.database).acknowledge({ id: 'AwsSolutions-RDS11', reason: 'MySQL default port 3306: the cluster is only in isolated subnets and its security group admits only the API, worker and rotation groups; a non-standard port adds no protection.' })
    Validations.of(this.database).acknowledge({ id: 'AwsSolutions-RDS14', reason: 'Backtrack rewinds the whole cluster in place and would silently drop readings already acknowledged to SQS; recovery uses point-in-time restore from the automated backups instead.' })
    if (!config.database.deletionProtection) Validations.of(this.database).acknowledge({ id: 'AwsSolutions-RDS10', reason: 'Non-production stage: torn down with scripts/destroy.sh. Production has deletion protection on.' })
    const monitoringRole = this.database.node.tryFindChild('MonitoringRole')
    if (monitoringRole !== undefined) Validations.of(monitoringRole).acknowledge({ id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]', reason: 'Enhanced Monitoring requires the AWS managed AmazonRDSEnhancedMonitoringRole policy (CDK-generated role).' })
    for (const subnet of this.vpc.publicSubnets.concat(this.vpc.privateSubnets, this.vpc.isolatedSubnets)) {
      Validations.of(subnet).acknowledge({ id: 'CloudFormation-Validate::W3010', reason: 'AZs are pinned per stage in the config so synth needs no AWS lookup; they are chosen once when the stage is created.' })
    }
    this.acknowledgeLogRetention()
    // Rotation Lambda in the app subnets; CDK opens the database security group to its own group.
    this.database.addRotationSingleUser({ automaticallyAfter: Duration.days(30), vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } })

    // ---- SQS: readings queue + DLQ ----
    this.deadLetterQueue = new sqs.Queue(this, 'ReadingsDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(config.queue.dlqRetentionDays),
      maxMessageSizeBytes: config.queue.maxMessageSizeBytes,
      removalPolicy: retain
    })
    this.queue = new sqs.Queue(this, 'Readings', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(config.queue.retentionDays),
      maxMessageSizeBytes: config.queue.maxMessageSizeBytes,
      visibilityTimeout: Duration.seconds(config.queue.visibilityTimeoutSeconds),
      receiveMessageWaitTime: Duration.seconds(10),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: config.queue.maxReceiveCount },
      removalPolicy: retain
    })

    // ---- buckets: access logs (ALB, S3) and the raw-day archive ----
    this.logsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED, // ALB access logs require SSE-S3
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(prod ? 365 : 30) }],
      removalPolicy: RemovalPolicy.RETAIN
    })
    Validations.of(this.logsBucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the access-log bucket itself; logging it into itself would loop.' })
    this.archiveBucketName = `labclimate-${config.stage}-archive-${this.account}-${this.region}`
    this.archiveBucket = new s3.Bucket(this, 'Archive', {
      bucketName: this.archiveBucketName,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.logsBucket,
      serverAccessLogsPrefix: 'archive/',
      lifecycleRules: [{
        transitions: [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(config.archive.glacierAfterDays) }],
        noncurrentVersionExpiration: Duration.days(30)
      }],
      removalPolicy: RemovalPolicy.RETAIN
    })
    this.outputs()
  }

  private outputs (): void {
    // Read by scripts/deploy.sh to run the one-off migration task.
    new CfnOutput(this, 'AppSubnetIds', { value: this.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds.join(',') })
    new CfnOutput(this, 'WorkerSecurityGroupId', { value: this.workerSecurityGroup.securityGroupId })
    new CfnOutput(this, 'QueueUrl', { value: this.queue.queueUrl })
    new CfnOutput(this, 'ArchiveBucketName', { value: this.archiveBucketName })
  }

  private acknowledgeLogRetention (): void {
    // CDK's singleton Lambda that sets retention on the Aurora log groups it cannot create itself.
    const fn = this.node.children.find((c) => c.node.id.startsWith('LogRetention'))
    if (fn === undefined) return
    Validations.of(fn).acknowledge({ id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'CDK-internal LogRetention function (sets retention on the Aurora log groups); its role uses the basic Lambda logging policy.' })
    Validations.of(fn).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'CDK-internal LogRetention function: logs:PutRetentionPolicy/DeleteRetentionPolicy on log groups whose names RDS creates at run time.' })
  }

  // AZs come from the stage config, never from a lookup: synth works offline.
  override get availabilityZones (): string[] { return this.azs }
}
