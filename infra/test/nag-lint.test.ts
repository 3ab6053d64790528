// Offline checks CI runs: synth of both stages with cdk-nag AwsSolutions (an unacknowledged finding makes
// app.synth() throw), every acknowledgement carries a reason, and cfn-lint on the synthesized templates.
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { App } from 'aws-cdk-lib'
import * as s3 from 'aws-cdk-lib/aws-s3'
import t from 'tap'
import { buildLabclimate } from '../lib/app.ts'
import { synth } from './helper.ts'

// CDK synth (and cfn-lint) on a shared 2-core machine: allow more than tap's default 120 s.
t.setTimeout(300_000)

const run = promisify(execFile)

for (const stage of ['dev', 'prod'] as const) {
  t.test(`${stage}: synth with cdk-nag AwsSolutions has no unacknowledged finding`, async (t) => {
    let outdir = ''
    const options = stage === 'prod' ? { certificateArn: 'arn:aws:acm:eu-central-1:111111111111:certificate/abc' } : {}
    t.doesNotThrow(() => { outdir = synth(stage, options).outdir }, 'synth (throws on a finding)')
    type Report = { pluginReports?: Array<{ pluginName: string, conclusion: string, violations: unknown[] }> }
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as Report
    // cdk-nag lists itself in the report only when it has violations; acknowledged ones are not listed.
    const reporting = (report.pluginReports ?? []).filter((r) => r.conclusion !== 'success' || r.violations.length > 0)
    t.same(reporting.map((r) => r.pluginName), [], 'no validation plugin reports a violation')
    const templates = readdirSync(outdir).filter((f) => f.endsWith('.template.json'))
    t.equal(templates.length, 3, 'three stacks')

    const lint = await run('cfn-lint', ['--format', 'parseable', ...templates.map((f) => join(outdir, f))], { timeout: 120_000 }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code?: number | string, stdout?: string, stderr?: string }) => ({ code: e.code, out: `${e.stdout ?? ''}${e.stderr ?? ''}` })
    )
    if (lint.code === 'ENOENT') {
      t.test('cfn-lint on the templates', { skip: 'cfn-lint is not installed (pip install cfn-lint)' }, async () => {})
      return
    }
    // Errors (E) fail; warnings (W) and informational (I) are printed.
    const errors = lint.out.split('\n').filter((l) => /:E\d{4}:/.test(l))
    t.same(errors, [], 'cfn-lint: no errors')
    if (lint.out.trim() !== '') t.comment(lint.out.trim())
  })
}

t.test('control: buildLabclimate wires cdk-nag, so a new unacknowledged finding fails synth', async (t) => {
  const outdir = mkdtempSync(join(tmpdir(), 'labclimate-cdk-control-'))
  const app = new App({ outdir })
  const { stateful } = buildLabclimate(app, {
    stage: 'dev',
    account: '111111111111',
    region: 'eu-central-1',
    availabilityZones: ['eu-central-1a', 'eu-central-1b']
  })
  new s3.Bucket(stateful, 'NotLoggedNotTls') // AwsSolutions-S1 and -S10
  t.throws(() => app.synth(), /Validation failed/)
  type Report = { pluginReports: Array<{ pluginName: string, violations: Array<{ ruleName: string }> }> }
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as Report
  const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')
  t.same(nag?.violations.map((v) => v.ruleName).sort(), ['AwsSolutions-S1', 'AwsSolutions-S10'])
})

t.test('every acknowledgement in infra/lib gives a reason', async (t) => {
  const dir = new URL('../lib/', import.meta.url)
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(new URL(file, dir), 'utf8')
    // Up to the closing `})`, so an id with a template literal (`${this.region}`) is read whole, not skipped.
    const acknowledgements = [...text.matchAll(/acknowledge\(\{([\s\S]*?)\}\)/g)]
    t.equal(acknowledgements.length, text.split('.acknowledge(').length - 1, `${file}: every acknowledge( call is read`)
    for (const match of acknowledgements) {
      t.match(match[1], /reason: ['`][^'`]{20,}/, `${file}: ${match[1]?.slice(0, 60) ?? ''}`)
    }
  }
})
