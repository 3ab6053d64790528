// The running service: the API behind an ALB (with AWS WAF), the worker, the hourly maintenance task,
// their scaling, and monitoring, in the ECS cluster of ReleaseStack. Images are CDK assets built from the
// repo's Dockerfiles. Each task connects to Aurora as its own IAM-authenticated user over TLS.
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, TimeZone, Validations, type StackProps } from 'aws-cdk-lib'
import * as s3 from 'aws-cdk-lib/aws-s3'
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns'
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2'
import * as events from 'aws-cdk-lib/aws-events'
import * as kms from 'aws-cdk-lib/aws-kms'
import * as logs from 'aws-cdk-lib/aws-logs'
import * as acm from 'aws-cdk-lib/aws-certificatemanager'
import * as route53 from 'aws-cdk-lib/aws-route53'
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets'
import { Platform } from 'aws-cdk-lib/aws-ecr-assets'
import type { Construct } from 'constructs'
import type { StageConfig } from './config.ts'
import { iamDatabaseEnv } from './constructs/database-access.ts'
import { retentionEnv } from './constructs/retention.ts'
import { AlbWaf } from './constructs/waf.ts'
import { Monitoring } from './monitoring.ts'
import { clusterExportName, type ReleaseStack } from './release-stack.ts'
import { API_PORT, type StatefulStack } from './stateful-stack.ts'

export interface ServiceStackProps extends StackProps {
  config: StageConfig
  stateful: StatefulStack
  /** The cluster and the worker image; its release task has run before this stack deploys. */
  release: ReleaseStack
  /** Repo root: the Docker build context of the API image. */
  repoRoot: string
  /** ACM certificate for HTTPS on the ALB; without one the listener is plain HTTP (dev only; prod refuses). */
  certificateArn?: string | undefined
  /** Optional DNS name for the API: an alias record in the given public hosted zone. */
  domain?: { name: string, hostedZoneId: string } | undefined
  /** Where alarms are e-mailed (SNS subscription); more subscribers can be added to the topic. */
  alarmEmail?: string | undefined
}

/** The ALB's health check: liveness only, so a database or queue outage never makes ECS replace tasks. */
export const ALB_HEALTH_PATH = '/health/live'

export class ServiceStack extends Stack {
  readonly cluster: ecs.ICluster
  readonly apiService: ecs.FargateService
  readonly workerService: ecs.FargateService
  readonly loadBalancer: elbv2.ApplicationLoadBalancer
  readonly waf: AlbWaf

  constructor (scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props)
    const { config, stateful } = props
    const { vpc, database, queue } = stateful
    const prod = config.stage === 'prod'
    if (prod && props.certificateArn === undefined) throw new Error('prod serves HTTPS only: pass -c certificateArn=arn:aws:acm:... (docs/deploy.md)')

    const clusterName = Fn.importValue(clusterExportName(config.stage))
    this.cluster = ecs.Cluster.fromClusterAttributes(this, 'Cluster', { clusterName, vpc, securityGroups: [] })
    const apiImage = ecs.ContainerImage.fromAsset(props.repoRoot, { file: 'Dockerfile.api', platform: Platform.LINUX_AMD64 })
    const workerImage = props.release.workerImage

    // No password anywhere: each task role may connect only as its own database user, with an IAM token.
    const common = {
      SQS_QUEUE_URL: queue.queueUrl,
      AWS_REGION: this.region,
      LOG_LEVEL: 'info',
      STAGE: config.stage
    }
    // The API answers series from the resolutions maintenance keeps: both read the same retention.
    const retention = retentionEnv(config.archive)
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
      // Writes and read-your-write on the writer; GET /labs and other reads on the reader endpoint.
      // The ALB is the one proxy in front: the client's address is the last X-Forwarded-For entry (per-address limits).
      environment: { ...common, ...iamDatabaseEnv(database, apiTask.taskRole, 'api', { reader: true }), ...retention, PORT: String(API_PORT), HOST: '0.0.0.0', TRUST_PROXY_HOPS: '1' },
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
    this.waf = new AlbWaf(this, 'Waf', { loadBalancer: this.loadBalancer, name: `labclimate-${config.stage}`, requestsPerAddressPer5Min: config.waf.requestsPerAddressPer5Min })
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
      // Liveness, not readiness: in a database blip or failover the tasks keep serving ingest from their
      // caches instead of being replaced; readiness is an alarm (docs/decisions/0006-health-checks.md).
      healthCheck: { path: ALB_HEALTH_PATH, healthyHttpCodes: '200', interval: Duration.seconds(15), timeout: Duration.seconds(5), healthyThresholdCount: 2, unhealthyThresholdCount: 3 },
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
      // The release task has migrated before the worker rolls; its user has no DDL rights anyway.
      environment: { ...common, ...iamDatabaseEnv(database, workerTask.taskRole, 'worker'), WORKER_CONSUMERS: String(config.worker.consumersPerTask), SQS_VISIBILITY_TIMEOUT_SECONDS: String(config.queue.visibilityTimeoutSeconds), MIGRATE_ON_START: 'false' },
      logging: ecs.LogDrivers.awsLogs({ logGroup: workerLogs, streamPrefix: 'worker' }),
      stopTimeout: Duration.seconds(30),
      readonlyRootFilesystem: true,
      // The image's HEALTHCHECK (Dockerfile.worker): the worker touches its liveness file every 5 s while its
      // event loop turns; a file older than a minute means a hung process, which ECS then replaces.
      healthCheck: {
        command: ['CMD-SHELL', 'test -n "$(find "$WORKER_LIVENESS_FILE" -mmin -1 2>/dev/null)"'],
        interval: Duration.seconds(30), timeout: Duration.seconds(5), retries: 3, startPeriod: Duration.seconds(60)
      }
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
      // In the fleet's time zone: devices upload at 23:00 local time, summer and winter.
      const { start, end, apiMinTasks, workerMinTasks } = config.burst
      const timeZone = TimeZone.of(config.burstTimeZone)
      const at = (time: { hour: number, minute: number }): appscaling.Schedule => appscaling.Schedule.cron({ hour: String(time.hour), minute: String(time.minute) })
      apiScaling.scaleOnSchedule('BurstFloor', { schedule: at(start), minCapacity: apiMinTasks, timeZone })
      apiScaling.scaleOnSchedule('BurstFloorEnd', { schedule: at(end), minCapacity: config.api.minTasks, timeZone })
      workerTarget.scaleOnSchedule('BurstFloor', { schedule: at(start), minCapacity: workerMinTasks, timeZone })
      workerTarget.scaleOnSchedule('BurstFloorEnd', { schedule: at(end), minCapacity: config.worker.minTasks, timeZone })
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

    // ---- hourly maintenance (partitions, archive); migrations run in ReleaseStack's task ----
    const maintenanceTask = new ecs.FargateTaskDefinition(this, 'MaintenanceTask', { cpu: 512, memoryLimitMiB: 1024 })
    maintenanceTask.addContainer('maintenance', {
      image: workerImage,
      command: ['node', 'dist/maintenance-main.js'],
      environment: {
        ...iamDatabaseEnv(database, maintenanceTask.taskRole, 'maintenance'),
        AWS_REGION: this.region,
        ARCHIVE_BUCKET: stateful.archiveBucketName,
        ...retention,
        LOG_LEVEL: 'info',
        STAGE: config.stage,
        UPLOAD_HOUR: String(config.upload.hour),
        COMPLETENESS_GRACE_HOURS: String(config.upload.completenessGraceHours),
        FLEET_TIME_ZONE: config.burstTimeZone
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup: maintenanceLogs, streamPrefix: 'maintenance' }),
      readonlyRootFilesystem: true
    })
    // Reads and writes archive objects; never deletes them (lifecycle rules do that).
    // In prod by its fixed name, so the policy names the bucket, not a stack export; dev's name is generated.
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
      Validations.of(eventsPolicy).acknowledge({ id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:${this.region}:*:task/${clusterExportName(config.stage)}/*]`, reason: 'CDK-generated EventBridge role of the scheduled task: ecs:TagResource on task/<cluster>/* (task ids are not known in advance); RunTask is scoped to the one task definition.' })
    }
    void maintenance

    // ---- monitoring ----
    const monitoring = new Monitoring(this, 'Monitoring', {
      config,
      queue,
      deadLetterQueue: stateful.deadLetterQueue,
      loadBalancer: this.loadBalancer,
      targetGroup,
      apiService: this.apiService,
      workerService: this.workerService,
      database,
      fleetTimeZone: config.burstTimeZone,
      alarmEmail: props.alarmEmail
    })
    this.rollBackOnAlarms(monitoring)
    // A KMS key is retained by default; a destroyed dev stage should not leave one behind per redeploy.
    const alarmKey = monitoring.node.tryFindChild('AlarmTopicKey')
    if (!prod && alarmKey instanceof kms.Key) alarmKey.applyRemovalPolicy(RemovalPolicy.DESTROY)
    if (props.domain !== undefined) {
      const zone = route53.HostedZone.fromHostedZoneId(this, 'Zone', props.domain.hostedZoneId)
      // The trailing dot makes the name absolute: the imported zone's own name is not known offline.
      new route53.ARecord(this, 'ApiAlias', { zone, recordName: `${props.domain.name}.`, target: route53.RecordTarget.fromAlias(new route53Targets.LoadBalancerTarget(this.loadBalancer)) })
    }

    // Root filesystems are read-only; each task gets a writable ephemeral /tmp.
    for (const task of [apiTask, workerTask, maintenanceTask]) {
      task.addVolume({ name: 'tmp' })
      task.defaultContainer?.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false })
    }

    // ---- acknowledged cdk-nag findings (each with its reason) ----
    for (const task of [apiTask, workerTask, maintenanceTask]) {
      Validations.of(task).acknowledge({ id: 'AwsSolutions-ECS2', reason: 'Only non-secret settings (hosts, database user names, queue URL, region, sizes) are plain environment; there is no database password: tasks sign an IAM token per connection.' })
    }
    for (const task of [apiTask, workerTask, maintenanceTask]) {
      const policy = task.executionRole?.node.tryFindChild('DefaultPolicy')
      if (policy !== undefined) {
        Validations.of(policy).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'CDK-generated execution role: ecr:GetAuthorizationToken exists only on Resource::*; image pull and log access are scoped to this stack\'s repository and log groups.' })
      }
    }
    const maintenancePolicy = maintenanceTask.taskRole.node.tryFindChild('DefaultPolicy')
    if (maintenancePolicy !== undefined) {
      for (const finding of ['Action::s3:Abort*', 'Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', `Resource::arn:<AWS::Partition>:s3:::${stateful.archiveBucketNagName}/*`]) {
        Validations.of(maintenancePolicy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: 'From archiveBucket.grantRead() and grantPut(): reads and writes objects under per-day keys of this one bucket (hence <bucket>/*); no delete.' })
      }
    }

    new CfnOutput(this, 'ApiUrl', { value: `${props.certificateArn !== undefined ? 'https' : 'http'}://${props.domain?.name ?? this.loadBalancer.loadBalancerDnsName}` })
    new CfnOutput(this, 'ApiServiceName', { value: this.apiService.serviceName })
    new CfnOutput(this, 'WorkerServiceName', { value: this.workerService.serviceName })
  }

  /**
   * Bad releases roll back on their own: the circuit breaker catches tasks that do not start or fail the
   * liveness check; these alarms catch a release that runs but answers 5xx (API) or cannot store batches
   * (worker). ECS watches them during each deployment and its bake time, and rolls back when one fires.
   */
  private rollBackOnAlarms (monitoring: Monitoring): void {
    const named = (id: string): string => {
      const alarm = monitoring.alarms.find((a) => a.node.id === id)
      if (alarm === undefined) throw new Error(`monitoring has no ${id} alarm to watch deployments with`)
      return alarm.alarmName
    }
    this.apiService.enableDeploymentAlarms([named('Api5xxRate')], { behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM })
    this.workerService.enableDeploymentAlarms([named('WorkerErrors')], { behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM })
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
