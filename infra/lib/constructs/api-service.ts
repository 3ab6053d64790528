// The API: Fargate tasks behind the public ALB (its listeners and target group), scaling on CPU and on
// requests per target, with the nightly burst floor.
import { Duration } from 'aws-cdk-lib'
import * as acm from 'aws-cdk-lib/aws-certificatemanager'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2'
import type { Construct } from 'constructs'
import type { StageConfig } from '../config.ts'
import { iamDatabaseEnv } from './database-access.ts'
import { addAppContainer, AppService, privateService, scaleForBurst, type ServiceProps } from './fargate.ts'

/** The ALB's health check: liveness only, so a database or queue outage never makes ECS replace tasks. */
export const ALB_HEALTH_PATH = '/health/live'

export interface ApiServiceProps extends ServiceProps {
  port: number
  sizing: StageConfig['api']
  loadBalancer: elbv2.ApplicationLoadBalancer
  /** HTTPS on 443 (and 80 redirecting to it); without one, plain HTTP on 80. */
  certificateArn?: string | undefined
}

export class ApiService extends AppService {
  readonly service: ecs.FargateService
  readonly listener: elbv2.ApplicationListener
  readonly targetGroup: elbv2.ApplicationTargetGroup
  readonly scaling: ecs.ScalableTaskCount

  constructor (scope: Construct, id: string, props: ApiServiceProps) {
    super(scope, id, props.sizing)
    const { sizing, port } = props
    addAppContainer(this.taskDefinition, 'api', props, {
      // Writes and read-your-write on the writer; GET /labs and other reads on the reader endpoint.
      // The ALB is the one proxy in front: the client's address is the last X-Forwarded-For entry (per-address limits).
      environment: {
        ...props.environment,
        ...iamDatabaseEnv(props.database, this.taskDefinition.taskRole, 'api', { reader: true }),
        PORT: String(port),
        HOST: '0.0.0.0',
        TRUST_PROXY_HOPS: '1'
      },
      portMappings: [{ containerPort: port }],
      health: {
        command: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${port}${ALB_HEALTH_PATH}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
        intervalSeconds: 15,
        timeoutSeconds: 3,
        startPeriodSeconds: 20
      },
      findings: {
        settings: 'hosts, database user name, queue URL, region, retention',
        executionRoleScope: 'image pull and log access are scoped to this stack\'s repository and the API log group.'
      }
    })
    props.queue.grantSendMessages(this.taskDefinition.taskRole)

    // "Default": the service keeps the logical ID it had before this construct existed (a new one would
    // start a second service beside the running one). The grace period covers the ALB's first health checks.
    this.service = privateService(this, 'Default', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      securityGroup: props.securityGroup,
      desiredCount: sizing.minTasks,
      healthCheckGracePeriod: Duration.seconds(30)
    })

    // Listeners are the ALB's children, so their logical IDs do not depend on this construct.
    const alb = props.loadBalancer
    this.listener = props.certificateArn !== undefined
      ? alb.addListener('Https', {
        port: 443,
        certificates: [acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        open: false
      })
      : alb.addListener('Http', { port: 80, open: false })
    if (props.certificateArn !== undefined) alb.addRedirect({ sourcePort: 80, targetPort: 443, open: false })
    this.targetGroup = this.listener.addTargets('ApiTargets', {
      port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.service],
      // Liveness, not readiness: in a database blip or failover the tasks keep serving ingest from their
      // caches instead of being replaced; readiness is an alarm (docs/decisions/0006-health-checks.md).
      healthCheck: {
        path: ALB_HEALTH_PATH,
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3
      },
      // Shorter than the 30 s stop timeout: the ALB stops sending before ECS sends SIGKILL.
      deregistrationDelay: Duration.seconds(20)
    })

    this.scaling = this.service.autoScaleTaskCount({ minCapacity: sizing.minTasks, maxCapacity: sizing.maxTasks })
    this.scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: sizing.cpuTargetPercent,
      scaleInCooldown: Duration.seconds(120),
      scaleOutCooldown: Duration.seconds(30)
    })
    this.scaling.scaleOnRequestCount('Requests', {
      requestsPerTarget: sizing.requestsPerTargetPerMinute,
      targetGroup: this.targetGroup,
      scaleInCooldown: Duration.seconds(120),
      scaleOutCooldown: Duration.seconds(30)
    })
    if (props.burst !== undefined) scaleForBurst(this.scaling, props.burst, sizing.minTasks)
  }
}
