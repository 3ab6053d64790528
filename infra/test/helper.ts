import { App } from 'aws-cdk-lib'
import { Template } from 'aws-cdk-lib/assertions'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildLabclimate, type LabclimateStacks } from '../lib/app.ts'

export interface Synthesized extends LabclimateStacks {
  app: App
  stateful: LabclimateStacks['stateful']
  statefulTemplate: Template
  releaseTemplate: Template
  serviceTemplate: Template
  outdir: string
}

/** Prod refuses to synth without a certificate; tests that do not care about it get this one. */
export const TEST_CERTIFICATE_ARN = 'arn:aws:acm:eu-central-1:111111111111:certificate/test'

/** Synthesizes one stage offline, with cdk-nag (a finding without acknowledgement throws here). */
export function synth (stage: 'dev' | 'prod', options: { certificateArn?: string, alarmEmail?: string } = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), `labclimate-cdk-${stage}-`))
  const app = new App({ outdir, context: { 'cli-telemetry': false } })
  const defaults = stage === 'prod' ? { certificateArn: TEST_CERTIFICATE_ARN } : {}
  const stacks = buildLabclimate(app, {
    stage,
    account: '111111111111',
    region: 'eu-central-1',
    availabilityZones: ['eu-central-1a', 'eu-central-1b'],
    ...defaults,
    ...options
  })
  app.synth()
  const templates = {
    statefulTemplate: Template.fromStack(stacks.stateful),
    releaseTemplate: Template.fromStack(stacks.release),
    serviceTemplate: Template.fromStack(stacks.service)
  }
  return { ...stacks, app, outdir, ...templates }
}

/** One Allow statement of an IAM policy document in a template. */
interface Statement { Effect?: string, Action?: unknown, NotAction?: unknown, Resource?: unknown, NotResource?: unknown }

const list = (value: unknown): unknown[] => value === undefined ? [] : Array.isArray(value) ? value : [value]

/**
 * Every wildcard an Allow statement grants, read from the policy's structure rather than its JSON text: an action
 * `*` or a whole service (`sqs:*`; grant*()'s prefixes such as `s3:GetObject*` are scoped and allowed), a
 * resource `*` (alone or in an array), and any NotAction/NotResource.
 * Returns "<policy id>: <what>" for each.
 */
export function policyWildcards (template: Template, policyIdPrefix: string): string[] {
  const out: string[] = []
  for (const [id, resource] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
    if (!id.startsWith(policyIdPrefix)) continue
    const statements = list((resource.Properties as { PolicyDocument?: { Statement?: unknown } }).PolicyDocument?.Statement) as Statement[]
    for (const s of statements) {
      if (s.Effect !== 'Allow') continue
      for (const action of list(s.Action)) if (typeof action === 'string' && /^(\*|[^:]+:\*)$/.test(action)) out.push(`${id}: action ${action}`)
      for (const res of list(s.Resource)) if (res === '*') out.push(`${id}: resource *`)
      if (s.NotAction !== undefined) out.push(`${id}: NotAction`)
      if (s.NotResource !== undefined) out.push(`${id}: NotResource`)
    }
  }
  return out
}
