// The running service in ReleaseStack's ECS cluster: the public ALB with AWS WAF, the API, the worker, the
// hourly maintenance job and monitoring, each a construct of lib/constructs/. Images are CDK assets built
// from the repo's Dockerfiles; each task connects to Aurora as its own IAM-authenticated user over TLS.
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2'
import * as logs from 'aws-cdk-lib/aws-logs'
import * as route53 from 'aws-cdk-lib/aws-route53'
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets'
import { Platform } from 'aws-cdk-lib/aws-ecr-assets'
import type { Construct } from 'constructs'
import type { StageConfig } from './config.ts'
import { ApiService } from './constructs/api-service.ts'
import type { BurstFloor } from './constructs/fargate.ts'
import { MaintenanceJob } from './constructs/maintenance-job.ts'
import { Monitoring } from './constructs/monitoring.ts'
import { retentionEnv } from './constructs/retention.ts'
import { AlbWaf } from './constructs/waf.ts'
import { WorkerService } from './constructs/worker-service.ts'
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

export class ServiceStack extends Stack {
  readonly cluster: ecs.ICluster
  readonly api: ApiService
  readonly worker: WorkerService
  readonly maintenance: MaintenanceJob
  readonly loadBalancer: elbv2.ApplicationLoadBalancer
  readonly waf: AlbWaf
  readonly monitoring: Monitoring

  constructor (scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props)
    const { config, stateful } = props
    const { vpc, database, queue } = stateful
    const prod = config.stage === 'prod'
    if (prod && props.certificateArn === undefined) throw new Error('prod serves HTTPS only: pass -c certificateArn=arn:aws:acm:... (docs/deploy.md)')

    this.cluster = ecs.Cluster.fromClusterAttributes(this, 'Cluster', { clusterName: Fn.importValue(clusterExportName(config.stage)), vpc, securityGroups: [] })
    // Log groups have fixed names and outlive a task (retained in prod): the stack names and keeps them.
    const logGroup = (name: string): logs.LogGroup => new logs.LogGroup(this, `${name}Logs`, {
      logGroupName: `/labclimate/${config.stage}/${name.toLowerCase()}`,
      retention: config.logRetentionDays,
      removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY
    })
    const burst = (minTasks: number | undefined): BurstFloor | undefined => config.burst === undefined || minTasks === undefined
      ? undefined
      : { start: config.burst.start, end: config.burst.end, minTasks, timeZone: config.burstTimeZone }
    // No password anywhere: each task role may connect only as its own database user, with an IAM token.
    const base = { AWS_REGION: this.region, LOG_LEVEL: 'info', STAGE: config.stage }
    const services = { SQS_QUEUE_URL: queue.queueUrl, ...base }
    // The API answers series from the resolutions maintenance keeps: both read the same retention.
    const retention = retentionEnv(config.archive)

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: stateful.albSecurityGroup,
      dropInvalidHeaderFields: true,
      deletionProtection: prod,
      idleTimeout: Duration.seconds(60)
    })
    this.loadBalancer.logAccessLogs(stateful.logsBucket, `alb/${config.stage}`)
    this.waf = new AlbWaf(this, 'Waf', {
      loadBalancer: this.loadBalancer,
      name: `labclimate-${config.stage}`,
      requestsPerAddressPer5Min: config.waf.requestsPerAddressPer5Min
    })

    this.api = new ApiService(this, 'Api', {
      cluster: this.cluster,
      image: ecs.ContainerImage.fromAsset(props.repoRoot, { file: 'Dockerfile.api', platform: Platform.LINUX_AMD64 }),
      logGroup: logGroup('Api'),
      securityGroup: stateful.apiSecurityGroup,
      database,
      queue,
      port: API_PORT,
      sizing: config.api,
      burst: burst(config.burst?.apiMinTasks),
      environment: { ...services, ...retention },
      loadBalancer: this.loadBalancer,
      certificateArn: props.certificateArn
    })
    this.worker = new WorkerService(this, 'Worker', {
      cluster: this.cluster,
      image: props.release.workerImage,
      logGroup: logGroup('Worker'),
      securityGroup: stateful.workerSecurityGroup,
      database,
      queue,
      sizing: config.worker,
      visibilityTimeoutSeconds: config.queue.visibilityTimeoutSeconds,
      burst: burst(config.burst?.workerMinTasks),
      name: `labclimate-${config.stage}`,
      environment: services
    })
    this.maintenance = new MaintenanceJob(this, 'Maintenance', {
      cluster: this.cluster,
      clusterExportName: clusterExportName(config.stage),
      image: props.release.workerImage,
      logGroup: logGroup('Maintenance'),
      securityGroup: stateful.workerSecurityGroup,
      database,
      archiveBucketName: stateful.archiveBucketName,
      archiveBucketNagName: stateful.archiveBucketNagName,
      environment: {
        ...base,
        ...retention,
        UPLOAD_HOUR: String(config.upload.hour),
        COMPLETENESS_GRACE_HOURS: String(config.upload.completenessGraceHours),
        FLEET_TIME_ZONE: config.burstTimeZone
      }
    })

    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      queue,
      deadLetterQueue: stateful.deadLetterQueue,
      loadBalancer: this.loadBalancer,
      targetGroup: this.api.targetGroup,
      apiService: this.api.service,
      workerService: this.worker.service,
      database,
      fleetTimeZone: config.burstTimeZone,
      alarmEmail: props.alarmEmail
    })
    // Bad releases roll back on their own: the circuit breaker catches tasks that do not start or fail the
    // liveness check; these alarms, watched during each deployment and its bake time, catch a release that
    // runs but answers 5xx (API) or cannot store batches (worker).
    this.api.rollBackOn(this.monitoring.alarmName('Api5xxRate'))
    this.worker.rollBackOn(this.monitoring.alarmName('WorkerErrors'))

    if (props.domain !== undefined) {
      const zone = route53.HostedZone.fromHostedZoneId(this, 'Zone', props.domain.hostedZoneId)
      // The trailing dot makes the name absolute: the imported zone's own name is not known offline.
      new route53.ARecord(this, 'ApiAlias', {
        zone,
        recordName: `${props.domain.name}.`,
        target: route53.RecordTarget.fromAlias(new route53Targets.LoadBalancerTarget(this.loadBalancer))
      })
    }
    new CfnOutput(this, 'ApiUrl', {
      value: `${props.certificateArn !== undefined ? 'https' : 'http'}://${props.domain?.name ?? this.loadBalancer.loadBalancerDnsName}`
    })
    new CfnOutput(this, 'ApiServiceName', { value: this.api.service.serviceName })
    new CfnOutput(this, 'WorkerServiceName', { value: this.worker.service.serviceName })
  }
}
