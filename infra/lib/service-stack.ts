// The running service: ECS Fargate cluster, the API behind an ALB, the worker, the hourly maintenance
// task, their scaling, and monitoring. Images are CDK assets built from the repo's Dockerfiles.
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type CfnElement, type StackProps } from 'aws-cdk-lib'
import * as s3 from 'aws-cdk-lib/aws-s3'
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns'
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2'
import * as events from 'aws-cdk-lib/aws-events'
import * as logs from 'aws-cdk-lib/aws-logs'
import * as acm from 'aws-cdk-lib/aws-certificatemanager'
import { Platform } from 'aws-cdk-lib/aws-ecr-assets'
import type { Construct } from 'constructs'
import type { StageConfig } from './config.ts'
import { Monitoring } from './monitoring.ts'
import { API_PORT, DB_NAME, DB_PORT, type StatefulStack } from './stateful-stack.ts'

export interface ServiceStackProps extends StackProps {
  config: StageConfig
  stateful: StatefulStack
  /** Repo root: the Docker build context of both images. */
  repoRoot: string
  /** ACM certificate for HTTPS on the ALB; without one the listener is plain HTTP (dev only). */
  certificateArn?: string | undefined
  /** Where alarms are e-mailed (SNS subscription); more subscribers can be added to the topic. */
  alarmEmail?: string | undefined
}


export class ServiceStack extends Stack {
  readonly cluster: ecs.Cluster
  readonly apiService: ecs.FargateService
  readonly workerService: ecs.FargateService
  readonly loadBalancer: elbv2.ApplicationLoadBalancer
  readonly migrateTask: ecs.FargateTaskDefinition

  constructor (scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props)
    const { config, stateful } = props
    const { vpc, database, queue } = stateful
    const prod = config.stage === 'prod'
    const secret = database.secret
    if (secret === undefined) throw new Error('the Aurora cluster has no generated secret')

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED })

    const apiImage = ecs.ContainerImage.fromAsset(props.repoRoot, { file: 'Dockerfile.api', platform: Platform.LINUX_AMD64 })
    const workerImage = ecs.ContainerImage.fromAsset(props.repoRoot, { file: 'Dockerfile.worker', platform: Platform.LINUX_AMD64 })

    // The password never appears as plain environment: ECS injects the secret's fields, and the image's
    // entry point (infra/docker/entrypoint.sh) assembles DATABASE_URL from DB_* before exec'ing node.
    const dbSecrets = {
      DB_USER: ecs.Secret.fromSecretsManager(secret, 'username'),
      DB_PASSWORD: ecs.Secret.fromSecretsManager(secret, 'password')
    }
    const common = {
      DB_HOST: database.clusterEndpoint.hostname,
      DB_PORT: String(DB_PORT),
      DB_NAME,
      SQS_QUEUE_URL: queue.queueUrl,
      AWS_REGION: this.region,
      LOG_LEVEL: 'info'
    }
    const logGroup = (name: string): logs.LogGroup => new logs.LogGroup(this, `${name}Logs`, {
      logGroupName: `/labclimate/${config.stage}/${name.toLowerCase()}`,
      retention: config.logRetentionDays,
      removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY
    })
    const apiLogs = logGroup('Api')
    const workerLogs = logGroup('Worker')
    const maintenanceLogs = logGroup('Maintenance')

    // ---- API: Fargate behind a public ALB ----
    const apiTask = new ecs.FargateTaskDefinition(this, 'ApiTask', { cpu: config.api.cpu, memoryLimitMiB: config.api.memoryMiB, runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX } })
    apiTask.addContainer('api', {
      image: apiImage,
      // The ALB is the one proxy in front: the client's address is the last X-Forwarded-For entry (per-address limits).
      environment: { ...common, PORT: String(API_PORT), HOST: '0.0.0.0', TRUST_PROXY_HOPS: '1' },
      secrets: dbSecrets,
      portMappings: [{ containerPort: API_PORT }],
      logging: ecs.LogDrivers.awsLogs({ logGroup: apiLogs, streamPrefix: 'api' }),
      stopTimeout: Duration.seconds(30),
      readonlyRootFilesystem: true,
      healthCheck: {
        command: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${API_PORT}/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
        interval: Duration.seconds(15), timeout: Duration.seconds(3), retries: 3, startPeriod: Duration.seconds(20)
      }
    })
    queue.grantSendMessages(apiTask.taskRole)

    // The grace period covers the ALB's first health checks of a new task.
    this.apiService = this.privateService('Api', apiTask, stateful.apiSecurityGroup, config.api.minTasks, { healthCheckGracePeriod: Duration.seconds(30) })

    const albSecurityGroup = stateful.albSecurityGroup
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: albSecurityGroup,
      dropInvalidHeaderFields: true,
      deletionProtection: prod,
      idleTimeout: Duration.seconds(60)
    })
    this.loadBalancer.logAccessLogs(stateful.logsBucket, `alb/${config.stage}`)
    const listener = props.certificateArn !== undefined
      ? this.loadBalancer.addListener('Https', {
        port: 443,
        certificates: [acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        open: false
      })
      : this.loadBalancer.addListener('Http', { port: 80, open: false })
    if (props.certificateArn !== undefined) this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443, open: false })
    const targetGroup = listener.addTargets('ApiTargets', {
      port: API_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.apiService],
      // Readiness (database + queue), not liveness: a task that cannot reach either gets no traffic.
      healthCheck: { path: '/health/ready', healthyHttpCodes: '200', interval: Duration.seconds(15), timeout: Duration.seconds(5), healthyThresholdCount: 2, unhealthyThresholdCount: 3 },
      // Shorter than the 30 s stop timeout: the ALB stops sending before ECS sends SIGKILL.
      deregistrationDelay: Duration.seconds(20)
    })

    const apiScaling = this.apiService.autoScaleTaskCount({ minCapacity: config.api.minTasks, maxCapacity: config.api.maxTasks })
    apiScaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: config.api.cpuTargetPercent, scaleInCooldown: Duration.seconds(120), scaleOutCooldown: Duration.seconds(30) })
    apiScaling.scaleOnRequestCount('Requests', { requestsPerTarget: config.api.requestsPerTargetPerMinute, targetGroup, scaleInCooldown: Duration.seconds(120), scaleOutCooldown: Duration.seconds(30) })

    // ---- worker: consumes SQS, writes Aurora; scales on backlog per task ----
    const workerTask = new ecs.FargateTaskDefinition(this, 'WorkerTask', { cpu: config.worker.cpu, memoryLimitMiB: config.worker.memoryMiB, runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX } })
    workerTask.addContainer('worker', {
      image: workerImage,
      environment: { ...common, WORKER_CONSUMERS: String(config.worker.consumersPerTask), SQS_VISIBILITY_TIMEOUT_SECONDS: String(config.queue.visibilityTimeoutSeconds), MIGRATE_ON_START: 'true' },
      secrets: dbSecrets,
      logging: ecs.LogDrivers.awsLogs({ logGroup: workerLogs, streamPrefix: 'worker' }),
      stopTimeout: Duration.seconds(30),
      readonlyRootFilesystem: true
    })
    queue.grantConsumeMessages(workerTask.taskRole)

    this.workerService = this.privateService('Worker', workerTask, stateful.workerSecurityGroup, config.worker.minTasks)

    // Target tracking on "visible messages / running tasks": the L2 scaleToTrackCustomMetric takes one
    // metric, not metric math, so the policy is written with the L1 construct.
    const workerTarget = new appscaling.ScalableTarget(this, 'WorkerScalableTarget', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${this.cluster.clusterName}/${this.workerService.serviceName}`,
      minCapacity: config.worker.minTasks,
      maxCapacity: config.worker.maxTasks
    })
    workerTarget.node.addDependency(this.workerService)
    if (config.burst !== undefined) {
      const { startUtc, endUtc, apiMinTasks, workerMinTasks } = config.burst
      const at = (time: { hour: number, minute: number }): appscaling.Schedule => appscaling.Schedule.cron({ hour: String(time.hour), minute: String(time.minute) })
      apiScaling.scaleOnSchedule('BurstFloor', { schedule: at(startUtc), minCapacity: apiMinTasks })
      apiScaling.scaleOnSchedule('BurstFloorEnd', { schedule: at(endUtc), minCapacity: config.api.minTasks })
      workerTarget.scaleOnSchedule('BurstFloor', { schedule: at(startUtc), minCapacity: workerMinTasks })
      workerTarget.scaleOnSchedule('BurstFloorEnd', { schedule: at(endUtc), minCapacity: config.worker.minTasks })
    }
    new appscaling.CfnScalingPolicy(this, 'WorkerBacklogPerTask', {
      policyName: `labclimate-${config.stage}-worker-backlog-per-task`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: workerTarget.scalableTargetId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: config.worker.backlogPerTaskTarget,
        scaleInCooldown: 300,
        scaleOutCooldown: 60,
        customizedMetricSpecification: {
          metrics: [
            {
              id: 'visible',
              returnData: false,
              metricStat: { metric: { namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: [{ name: 'QueueName', value: queue.queueName }] }, stat: 'Sum' }
            },
            {
              id: 'tasks',
              returnData: false,
              metricStat: { metric: { namespace: 'ECS/ContainerInsights', metricName: 'RunningTaskCount', dimensions: [{ name: 'ClusterName', value: this.cluster.clusterName }, { name: 'ServiceName', value: this.workerService.serviceName }] }, stat: 'Average' }
            },
            { id: 'backlogPerTask', label: 'Messages visible per running worker task', returnData: true, expression: 'visible / IF(tasks > 0, tasks, 1)' }
          ]
        }
      }
    })

    // ---- one-off migration task (run by scripts/deploy.sh) and hourly maintenance ----
    this.migrateTask = new ecs.FargateTaskDefinition(this, 'MigrateTask', { cpu: 256, memoryLimitMiB: 512 })
    this.migrateTask.addContainer('migrate', {
      image: workerImage,
      command: ['node', 'node_modules/@labclimate/store/dist/migrate-cli.js'],
      environment: common,
      secrets: dbSecrets,
      logging: ecs.LogDrivers.awsLogs({ logGroup: maintenanceLogs, streamPrefix: 'migrate' }),
      readonlyRootFilesystem: true
    })

    const maintenanceTask = new ecs.FargateTaskDefinition(this, 'MaintenanceTask', { cpu: 512, memoryLimitMiB: 1024 })
    maintenanceTask.addContainer('maintenance', {
      image: workerImage,
      command: ['node', 'dist/maintenance-main.js'],
      environment: {
        DB_HOST: common.DB_HOST,
        DB_PORT: common.DB_PORT,
        DB_NAME,
        AWS_REGION: this.region,
        ARCHIVE_BUCKET: stateful.archiveBucketName,
        RETENTION_RAW_DAYS: String(config.archive.rawDays),
        RETENTION_MINUTE_DAYS: String(config.archive.minuteDays),
        RETENTION_HOUR_DAYS: String(config.archive.hourDays),
        LOG_LEVEL: 'info'
      },
      secrets: dbSecrets,
      logging: ecs.LogDrivers.awsLogs({ logGroup: maintenanceLogs, streamPrefix: 'maintenance' }),
      readonlyRootFilesystem: true
    })
    // Reads and writes archive objects; never deletes them (lifecycle rules do that).
    // By name (fixed per stage, account and region), so the policy names the bucket, not a stack export.
    const archiveBucket = s3.Bucket.fromBucketName(this, 'ArchiveBucket', stateful.archiveBucketName)
    archiveBucket.grantRead(maintenanceTask.taskRole)
    archiveBucket.grantPut(maintenanceTask.taskRole)
    const maintenance = new ecsPatterns.ScheduledFargateTask(this, 'Maintenance', {
      cluster: this.cluster,
      schedule: events.Schedule.cron({ minute: '7' }), // hourly, off the top of the hour
      scheduledFargateTaskDefinitionOptions: { taskDefinition: maintenanceTask },
      subnetSelection: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [stateful.workerSecurityGroup],
      platformVersion: ecs.FargatePlatformVersion.LATEST
    })

    const eventsPolicy = maintenanceTask.node.tryFindChild('EventsRole')?.node.tryFindChild('DefaultPolicy')
    if (eventsPolicy !== undefined) {
      Validations.of(eventsPolicy).acknowledge({ id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:${this.region}:*:task/<${this.getLogicalId(this.cluster.node.defaultChild as CfnElement)}>/*]`, reason: 'CDK-generated EventBridge role of the scheduled task: ecs:TagResource on task/<cluster>/* (task ids are not known in advance); RunTask is scoped to the one task definition.' })
    }
    void maintenance

    // ---- monitoring ----
    new Monitoring(this, 'Monitoring', {
      config,
      queue,
      deadLetterQueue: stateful.deadLetterQueue,
      loadBalancer: this.loadBalancer,
      targetGroup,
      apiService: this.apiService,
      workerService: this.workerService,
      database,
      alarmEmail: props.alarmEmail
    })

    // Root filesystems are read-only; each task gets a writable ephemeral /tmp.
    for (const task of [apiTask, workerTask, this.migrateTask, maintenanceTask]) {
      task.addVolume({ name: 'tmp' })
      task.defaultContainer?.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false })
    }

    // ---- acknowledged cdk-nag findings (each with its reason) ----
    for (const task of [apiTask, workerTask, this.migrateTask, maintenanceTask]) {
      Validations.of(task).acknowledge({ id: 'AwsSolutions-ECS2', reason: 'Only non-secret settings (hosts, queue URL, region, sizes) are plain environment; the database user and password are ECS secrets from Secrets Manager.' })
    }
    for (const task of [apiTask, workerTask, this.migrateTask, maintenanceTask]) {
      const policy = task.executionRole?.node.tryFindChild('DefaultPolicy')
      if (policy !== undefined) {
        Validations.of(policy).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'CDK-generated execution role: ecr:GetAuthorizationToken exists only on Resource::*; image pull, log and secret access are scoped to this stack\'s repository, log groups and the DB secret.' })
      }
    }
    const maintenancePolicy = maintenanceTask.taskRole.node.tryFindChild('DefaultPolicy')
    if (maintenancePolicy !== undefined) {
      for (const finding of ['Action::s3:Abort*', 'Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', `Resource::arn:<AWS::Partition>:s3:::${archiveBucket.bucketName}/*`]) {
        Validations.of(maintenancePolicy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: 'From archiveBucket.grantRead() and grantPut(): reads and writes objects under per-day keys of this one bucket (hence <bucket>/*); no delete.' })
      }
    }

    new CfnOutput(this, 'ApiUrl', { value: `${props.certificateArn !== undefined ? 'https' : 'http'}://${this.loadBalancer.loadBalancerDnsName}` })
    new CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName })
    new CfnOutput(this, 'MigrateTaskDefinitionArn', { value: this.migrateTask.taskDefinitionArn })
    new CfnOutput(this, 'ApiServiceName', { value: this.apiService.serviceName })
    new CfnOutput(this, 'WorkerServiceName', { value: this.workerService.serviceName })
  }

  /**
   * Both services run the same way: private subnets without public IPs, rolling deploys that keep every
   * running task until its replacement is healthy, and automatic rollback when a deploy does not become healthy.
   */
  private privateService (id: string, taskDefinition: ecs.FargateTaskDefinition, securityGroup: ec2.ISecurityGroup, desiredCount: number, extra: Partial<ecs.FargateServiceProps> = {}): ecs.FargateService {
    return new ecs.FargateService(this, id, {
      cluster: this.cluster,
      taskDefinition,
      desiredCount,
      securityGroups: [securityGroup],
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      ...extra
    })
  }
}
