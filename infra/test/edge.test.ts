// The public edge: WAF in front of the ALB (issue 13), HTTPS-only prod, an optional DNS name, and bad
// releases that roll back on their own (issue 11).
import { App } from 'aws-cdk-lib'
import { Template } from 'aws-cdk-lib/assertions'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildLabclimate, type LabclimateEnv } from '../lib/app.ts'
import { STAGES } from '../lib/config.ts'
import { COMMON_RULE, RATE_RULE } from '../lib/constructs/waf.ts'
import { synth, TEST_CERTIFICATE_ARN } from './helper.ts'

// CDK synth on a shared 2-core machine: allow more than tap's default 120 s.
t.setTimeout(300_000)

type Props = Record<string, any>
const prod = synth('prod')
const tpl = prod.serviceTemplate
const resources = (template: Template, type: string): Array<[string, Props]> =>
  Object.entries(template.findResources(type)).map(([id, r]) => [id, (r.Properties ?? {}) as Props])
const base: LabclimateEnv = {
  stage: 'prod',
  account: '111111111111',
  region: 'eu-central-1',
  availabilityZones: ['eu-central-1a', 'eu-central-1b'],
  nag: false
}
const build = (env: Partial<LabclimateEnv>): ReturnType<typeof buildLabclimate> =>
  buildLabclimate(new App({ outdir: mkdtempSync(join(tmpdir(), 'labclimate-cdk-edge-')) }), { ...base, ...env })

t.test('AWS WAF on the ALB: a rate limit per client address, then the AWS common rule set', async (t) => {
  const acls = resources(tpl, 'AWS::WAFv2::WebACL')
  t.equal(acls.length, 1)
  const [aclId, acl] = acls[0] as [string, Props]
  t.equal(acl.Scope, 'REGIONAL')
  t.same(acl.DefaultAction, { Allow: {} })
  const rules = acl.Rules as Props[]
  t.same(rules.map((r) => [r.Priority, r.Name]), [[0, RATE_RULE], [1, COMMON_RULE]])
  const rate = rules[0] as Props
  t.same(rate.Action, { Block: {} })
  t.equal(rate.Statement.RateBasedStatement.AggregateKeyType, 'IP')
  t.equal(rate.Statement.RateBasedStatement.Limit, STAGES.prod.waf.requestsPerAddressPer5Min)
  const common = rules[1] as Props
  t.same(common.OverrideAction, { None: {} }, 'the managed rules block (not count-only)')
  t.equal(common.Statement.ManagedRuleGroupStatement.VendorName, 'AWS')
  t.equal(common.Statement.ManagedRuleGroupStatement.Name, 'AWSManagedRulesCommonRuleSet')
  // A day batch is ~300 KB: the set's 8 KB body rule would block every nightly upload; legacy devices may
  // send no User-Agent. Both are counted; every other rule of the set blocks.
  t.same(common.Statement.ManagedRuleGroupStatement.RuleActionOverrides, [
    { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
    { Name: 'NoUserAgent_HEADER', ActionToUse: { Count: {} } }
  ])
  const associations = resources(tpl, 'AWS::WAFv2::WebACLAssociation').map(([, p]) => p)
  t.equal(associations.length, 1)
  const albId = resources(tpl, 'AWS::ElasticLoadBalancingV2::LoadBalancer')[0]?.[0]
  t.same(associations[0]?.ResourceArn, { Ref: albId }, 'associated with the ALB')
  t.same(associations[0]?.WebACLArn, { 'Fn::GetAtt': [aclId, 'Arn'] })
})

t.test('the ALB checks liveness, so a database outage does not replace the API tasks', async (t) => {
  const [[, tg]] = resources(tpl, 'AWS::ElasticLoadBalancingV2::TargetGroup') as [[string, Props]]
  t.equal(tg.HealthCheckPath, '/health/live')
  t.notMatch(JSON.stringify(tpl.toJSON()), /health\/ready/, 'readiness is nowhere in the service stack\'s health checks')
})

t.test('bad releases roll back: circuit breaker on both services, deployment alarms that exist', async (t) => {
  const alarms = new Set(resources(tpl, 'AWS::CloudWatch::Alarm').map(([id]) => id))
  const services = resources(tpl, 'AWS::ECS::Service').map(([, p]) => p.DeploymentConfiguration as Props)
  t.equal(services.length, 2)
  for (const d of services) {
    t.same(d.DeploymentCircuitBreaker, { Enable: true, Rollback: true })
    t.equal(d.Alarms.Enable, true)
    t.equal(d.Alarms.Rollback, true)
    t.equal(d.Alarms.AlarmNames.length, 1)
    t.ok(alarms.has(d.Alarms.AlarmNames[0].Ref), `watches alarm ${d.Alarms.AlarmNames[0].Ref as string} of this stack`)
  }
  t.same(services.map((d) => d.Alarms.AlarmNames[0].Ref.replace(/[0-9A-F]{8}$/, '')).sort(), ['MonitoringApi5xxRate', 'MonitoringWorkerErrors'])
})

t.test('prod serves HTTPS only: no certificate fails synth; HTTP 80 only redirects to 443', async (t) => {
  t.throws(() => build({}), /prod serves HTTPS only: pass -c certificateArn=/)
  const listeners = resources(tpl, 'AWS::ElasticLoadBalancingV2::Listener').map(([, p]) => p)
  t.equal(listeners.length, 2)
  const http = listeners.find((l) => l.Port === 80) as Props
  t.same(http.DefaultActions, [{ Type: 'redirect', RedirectConfig: { Port: '443', Protocol: 'HTTPS', StatusCode: 'HTTP_301' } }])
  const https = listeners.find((l) => l.Port === 443) as Props
  t.equal(https.Protocol, 'HTTPS')
  t.same(https.Certificates, [{ CertificateArn: TEST_CERTIFICATE_ARN }])
  t.doesNotThrow(() => build({ stage: 'dev' }), 'dev may run plain HTTP')
})

t.test('optional Route 53 alias record for a domain', async (t) => {
  resources(tpl, 'AWS::Route53::RecordSet').length === 0 ? t.pass('none without a domain') : t.fail('a record without a domain')
  const { service } = build({ certificateArn: TEST_CERTIFICATE_ARN, domain: { name: 'api.labclimate.example.org', hostedZoneId: 'Z0123456789' } })
  const withDomain = Template.fromStack(service)
  const records = resources(withDomain, 'AWS::Route53::RecordSet').map(([, p]) => p)
  t.equal(records.length, 1)
  t.equal(records[0]?.Name, 'api.labclimate.example.org.')
  t.equal(records[0]?.Type, 'A')
  t.equal(records[0]?.HostedZoneId, 'Z0123456789')
  t.match(JSON.stringify(records[0]?.AliasTarget), /DNSName/)
  t.equal(withDomain.findOutputs('ApiUrl').ApiUrl?.Value, 'https://api.labclimate.example.org')
})
