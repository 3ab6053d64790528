import { App } from 'aws-cdk-lib'
import { Template } from 'aws-cdk-lib/assertions'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildLabclimate, type LabclimateStacks } from '../lib/app.ts'

export interface Synthesized extends LabclimateStacks { app: App, stateful: LabclimateStacks['stateful'], statefulTemplate: Template, releaseTemplate: Template, serviceTemplate: Template, outdir: string }

/** Prod refuses to synth without a certificate; tests that do not care about it get this one. */
export const TEST_CERTIFICATE_ARN = 'arn:aws:acm:eu-central-1:111111111111:certificate/test'

/** Synthesizes one stage offline, with cdk-nag (a finding without acknowledgement throws here). */
export function synth (stage: 'dev' | 'prod', options: { certificateArn?: string, alarmEmail?: string } = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), `labclimate-cdk-${stage}-`))
  const app = new App({ outdir, context: { 'cli-telemetry': false } })
  const defaults = stage === 'prod' ? { certificateArn: TEST_CERTIFICATE_ARN } : {}
  const stacks = buildLabclimate(app, { stage, account: '111111111111', region: 'eu-central-1', availabilityZones: ['eu-central-1a', 'eu-central-1b'], ...defaults, ...options })
  app.synth()
  return { ...stacks, app, outdir, statefulTemplate: Template.fromStack(stacks.stateful), releaseTemplate: Template.fromStack(stacks.release), serviceTemplate: Template.fromStack(stacks.service) }
}
