// Everything that holds data or addresses: network, security groups, Aurora MySQL, SQS, buckets.
// Services come and go in ServiceStack; this stack is deployed first and changed rarely.
import { CfnOutput, Duration, Fn, RemovalPolicy, SecretValue, Stack, Validations, type StackProps } from 'aws-cdk-lib'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as logs from 'aws-cdk-lib/aws-logs'
import * as rds from 'aws-cdk-lib/aws-rds'
import * as s3 from 'aws-cdk-lib/aws-s3'
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager'
import * as sqs from 'aws-cdk-lib/aws-sqs'
import type { Construct } from 'constructs'
import type { StageConfig } from './config.ts'
import { AuroraBurstFloor } from './constructs/aurora-burst-floor.ts'

export interface StatefulStackProps extends StackProps { config: StageConfig }

export const DB_PORT = 3306
export const DB_NAME = 'labclimate'
export const API_PORT = 3000
/** What the admin-key secret holds before the first bootstrap: not a key, and says so. */
export const ADMIN_KEY_PLACEHOLDER = 'no admin key yet: the release task (scripts/deploy.sh) writes it here'
export const archiveExportName = (stage: string): string => `Labclimate-${stage}-ArchiveBucketName`

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
  /**
   * The archive's name as other stacks should use it: prod's fixed name, or (dev) an import of the export
   * archiveExportName(stage), a stable string that cdk-nag acknowledgements can cite.
   */
  readonly archiveBucketName: string
  /** What cdk-nag prints for that name in a policy resource. */
  readonly archiveBucketNagName: string
  readonly logsBucket: s3.Bucket
  /** Written by the bootstrap task (the first admin API key); read by the operator. */
  readonly adminKeySecret: secretsmanager.Secret
  private readonly azs: string[]
  private readonly stage: string

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
    this.workerSecurityGroup = new ec2.SecurityGroup(this, 'WorkerTasks', {
      vpc: this.vpc,
      description: 'labclimate worker and maintenance tasks',
      allowAllOutbound: true
    })
    this.databaseSecurityGroup = new ec2.SecurityGroup(this, 'Database', { vpc: this.vpc, description: 'labclimate Aurora MySQL', allowAllOutbound: false })
    // The public ALB reaches the API tasks on their port, and nothing else reaches them.
    this.albSecurityGroup = new ec2.SecurityGroup(this, 'Alb', { vpc: this.vpc, description: 'labclimate public ALB', allowAllOutbound: false })
    this.albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS from devices and users')
    this.albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP (redirected to HTTPS when a certificate is set)')
    this.albSecurityGroup.addEgressRule(this.apiSecurityGroup, ec2.Port.tcp(API_PORT), 'to API tasks')
    this.apiSecurityGroup.addIngressRule(this.albSecurityGroup, ec2.Port.tcp(API_PORT), 'from the ALB')
    Validations.of(this.albSecurityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'Public ingest endpoint: lab devices upload from anywhere on the internet; only 80 (redirect) and 443 are open, ' +
        'and API keys authenticate every device.'
    })
    this.databaseSecurityGroup.addIngressRule(this.apiSecurityGroup, ec2.Port.tcp(DB_PORT), 'API tasks')
    this.databaseSecurityGroup.addIngressRule(this.workerSecurityGroup, ec2.Port.tcp(DB_PORT), 'worker and maintenance tasks')

    // ---- Aurora MySQL 3, Serverless v2, only in the isolated subnets ----
    const engine = rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_10_4 })
    // One parameter group for what the server enforces and records: TLS on every connection (the apps
    // verify the RDS CA), the slow-query log (exported to CloudWatch below) and the audit log of
    // connections, DDL and grants.
    const parameterGroup = new rds.ParameterGroup(this, 'ClusterParameters', {
      engine,
      description: `labclimate ${config.stage}: TLS required, slow-query and audit logs`,
      parameters: {
        require_secure_transport: 'ON',
        slow_query_log: '1',
        long_query_time: '1',
        log_output: 'FILE',
        server_audit_logging: '1',
        server_audit_events: 'CONNECT,QUERY_DDL,QUERY_DCL'
      }
    })
    const { database } = config
    this.database = new rds.DatabaseCluster(this, 'Aurora', {
      engine,
      parameterGroup,
      // The master user is only for the bootstrap task (it creates the per-role IAM users); a fixed secret
      // name in dev would block a redeploy while the destroyed one waits out its recovery window.
      credentials: rds.Credentials.fromGeneratedSecret('labclimate_admin', prod ? { secretName: `labclimate/${config.stage}/db` } : {}),
      defaultDatabaseName: DB_NAME,
      port: DB_PORT,
      writer: rds.ClusterInstance.serverlessV2('writer', { enablePerformanceInsights: true }),
      readers: Array.from({ length: database.readers }, (_, i) => rds.ClusterInstance.serverlessV2(`reader${i + 1}`, {
        scaleWithWriter: database.readerScalesWithWriter,
        enablePerformanceInsights: true
      })),
      serverlessV2MinCapacity: database.minCapacityAcu,
      serverlessV2MaxCapacity: database.maxCapacityAcu,
      ...(database.autoPauseMinutes !== undefined ? { serverlessV2AutoPauseDuration: Duration.minutes(database.autoPauseMinutes) } : {}),
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
    Validations.of(this.database).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason: 'MySQL default port 3306: the cluster is only in isolated subnets and its security group admits only the API, worker and rotation groups; ' +
        'a non-standard port adds no protection.'
    })
    Validations.of(this.database).acknowledge({
      id: 'AwsSolutions-RDS14',
      reason: 'Backtrack rewinds the whole cluster in place and would silently drop readings already acknowledged to SQS; ' +
        'recovery uses point-in-time restore from the automated backups instead.'
    })
    if (!config.database.deletionProtection) {
      Validations.of(this.database).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: 'Non-production stage: torn down with scripts/destroy.sh. Production has deletion protection on.'
      })
    }
    const monitoringRole = this.database.node.tryFindChild('MonitoringRole')
    if (monitoringRole !== undefined) {
      Validations.of(monitoringRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
        reason: 'Enhanced Monitoring requires the AWS managed AmazonRDSEnhancedMonitoringRole policy (CDK-generated role).'
      })
    }
    for (const subnet of this.vpc.publicSubnets.concat(this.vpc.privateSubnets, this.vpc.isolatedSubnets)) {
      Validations.of(subnet).acknowledge({
        id: 'CloudFormation-Validate::W3010',
        reason: 'AZs are pinned per stage in the config so synth needs no AWS lookup; they are chosen once when the stage is created.'
      })
    }
    this.acknowledgeLogRetention()
    // Rotation Lambda in the app subnets; CDK opens the database security group to its own group.
    // Only the bootstrap task reads the master password (fresh, at its start), so rotation breaks nothing.
    this.database.addRotationSingleUser({ automaticallyAfter: Duration.days(30), vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } })
    if (config.burst !== undefined && database.burstMinCapacityAcu !== undefined) {
      new AuroraBurstFloor(this, 'AuroraBurstFloor', {
        cluster: this.database,
        stage: config.stage,
        timeZone: config.burstTimeZone,
        burst: config.burst,
        burstMinCapacityAcu: database.burstMinCapacityAcu,
        minCapacityAcu: database.minCapacityAcu,
        maxCapacityAcu: database.maxCapacityAcu
      })
    }

    // Holds a placeholder until the release task's bootstrap stores the first admin key in it (SecretString =
    // the key). CloudFormation writes the value only on create or when this text changes: never change it.
    this.adminKeySecret = new secretsmanager.Secret(this, 'AdminKey', {
      description: `labclimate ${config.stage}: the first admin API key, written by the bootstrap task`,
      secretStringValue: SecretValue.unsafePlainText(ADMIN_KEY_PLACEHOLDER),
      removalPolicy: retain
    })
    Validations.of(this.adminKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'An API key of labclimate itself, not a database or AWS credential: ' +
        'rotated by creating a new admin key with the CLI task and revoking the old one (docs/deploy.md).'
    })

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
      // Dev is torn down and redeployed: nothing of it may stay behind (the ALB's logs go with it).
      removalPolicy: retain,
      autoDeleteObjects: !prod
    })
    Validations.of(this.logsBucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the access-log bucket itself; logging it into itself would loop.' })
    // Prod's archive has a stable name (operators and restores find it); dev's is generated, so a
    // destroyed dev stage can be deployed again at once.
    const fixedName = prod ? `labclimate-${config.stage}-archive-${this.account}-${this.region}` : undefined
    this.archiveBucket = new s3.Bucket(this, 'Archive', {
      ...(fixedName !== undefined ? { bucketName: fixedName } : {}),
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
      removalPolicy: retain,
      autoDeleteObjects: !prod
    })
    this.archiveBucketName = fixedName ?? Fn.importValue(archiveExportName(config.stage))
    this.archiveBucketNagName = fixedName ?? archiveExportName(config.stage)
    this.stage = config.stage
    if (!prod) this.acknowledgeAutoDelete()
    this.outputs()
  }

  private outputs (): void {
    // Read by scripts/deploy.sh to run the release task and print the admin commands.
    new CfnOutput(this, 'AppSubnetIds', { value: this.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds.join(',') })
    new CfnOutput(this, 'WorkerSecurityGroupId', { value: this.workerSecurityGroup.securityGroupId })
    new CfnOutput(this, 'QueueUrl', { value: this.queue.queueUrl })
    new CfnOutput(this, 'ArchiveBucketName', { value: this.archiveBucket.bucketName, exportName: archiveExportName(this.stage) })
    new CfnOutput(this, 'AdminKeySecretArn', { value: this.adminKeySecret.secretArn })
  }

  private acknowledgeAutoDelete (): void {
    // CDK's singleton provider behind autoDeleteObjects (dev only: empties the buckets on destroy).
    const provider = this.node.tryFindChild('Custom::S3AutoDeleteObjectsCustomResourceProvider')
    if (provider === undefined) return
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'CDK-internal provider that empties the dev buckets on destroy; its role uses the basic Lambda logging policy.'
    })
  }

  private acknowledgeLogRetention (): void {
    // CDK's singleton Lambda that sets retention on the Aurora log groups it cannot create itself.
    const fn = this.node.children.find((c) => c.node.id.startsWith('LogRetention'))
    if (fn === undefined) return
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'CDK-internal LogRetention function (sets retention on the Aurora log groups); its role uses the basic Lambda logging policy.'
    })
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'CDK-internal LogRetention function: logs:PutRetentionPolicy/DeleteRetentionPolicy on log groups whose names RDS creates at run time.'
    })
  }

  // AZs come from the stage config, never from a lookup: synth works offline.
  override get availabilityZones (): string[] { return this.azs }
}
