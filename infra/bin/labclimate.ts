// The CDK app entry point, and the only place that reads the environment:
//   stage:   -c stage=dev|prod            (default dev)
//   account: CDK_DEFAULT_ACCOUNT (from the AWS credentials the CLI uses) or -c account=
//   region:  CDK_DEFAULT_REGION or -c region=          AZs: -c azs=eu-central-1a,eu-central-1b
//   HTTPS:   -c certificateArn=arn:aws:acm:... (required for prod)   alarms e-mailed to: -c alarmEmail=ops@example.org
//   DNS:     -c domainName=api.example.org -c hostedZoneId=Z0123...  (optional alias record to the ALB)
//   burst:   -c burstTimeZone=Europe/Berlin  (the fleet's time zone; default UTC)
// With no credentials (CI), account 000000000000 and eu-central-1 are used so synth works offline.
import { App } from 'aws-cdk-lib'
import { buildLabclimate } from '../lib/app.ts'

const app = new App()
const ctx = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key)
  return typeof value === 'string' && value !== '' ? value : undefined
}
const region = ctx('region') ?? process.env.CDK_DEFAULT_REGION ?? 'eu-central-1'
const azs = (ctx('azs') ?? `${region}a,${region}b`).split(',')
if (azs.length !== 2 || azs.some((az) => !az.startsWith(region))) throw new Error(`-c azs must name two AZs of ${region}`)

const domainName = ctx('domainName')
const hostedZoneId = ctx('hostedZoneId')
if ((domainName === undefined) !== (hostedZoneId === undefined)) throw new Error('-c domainName and -c hostedZoneId go together')

buildLabclimate(app, {
  stage: ctx('stage') ?? 'dev',
  account: ctx('account') ?? process.env.CDK_DEFAULT_ACCOUNT ?? '000000000000',
  region,
  availabilityZones: [azs[0] as string, azs[1] as string],
  certificateArn: ctx('certificateArn'),
  domain: domainName !== undefined && hostedZoneId !== undefined ? { name: domainName, hostedZoneId } : undefined,
  burstTimeZone: ctx('burstTimeZone'),
  alarmEmail: ctx('alarmEmail')
})
app.synth()
