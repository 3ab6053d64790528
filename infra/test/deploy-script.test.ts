// scripts/deploy.sh, run for real against stand-ins for the aws, docker and pnpm commands (no AWS is
// reachable here): the order of the steps, and that any failed step stops it before the services roll.
import { execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { REPO_ROOT } from '../lib/app.ts'

// The script that deploys this package, at the workspace root (the same root the images are built from).
const script = join(REPO_ROOT, 'scripts', 'deploy.sh')
const ADMIN_SECRET = 'arn:aws:secretsmanager:eu-central-1:111111111111:secret:AdminKey-abc'

// The stand-ins log every call (one line each) and answer what the script asks for.
const stubs = mkdtempSync(join(tmpdir(), 'labclimate-deploy-stubs-'))
const stub = (name: string, body: string): void => {
  writeFileSync(join(stubs, name), `#!/bin/sh\necho "${name} $*" >> "$STUB_LOG"\n${body}\n`)
  chmodSync(join(stubs, name), 0o755)
}
stub('docker', 'exit 0')
stub('pnpm', 'case "$*" in *"cdk deploy"*"$STUB_FAIL_DEPLOY"*) [ -n "$STUB_FAIL_DEPLOY" ] && exit 1 ;; esac; exit 0')
stub('aws', `case "$*" in
  "sts get-caller-identity"*) echo 111111111111 ;;
  "cloudformation describe-stacks"*)
    case "$*" in
      *ClusterName*) echo labclimate-cluster ;;
      *AppSubnetIds*) echo subnet-a,subnet-b ;;
      *WorkerSecurityGroupId*) echo sg-1 ;;
      *ReleaseTaskDefinitionArn*) [ "$STUB_MISSING_OUTPUT" = release ] && echo None || echo arn:aws:ecs:eu-central-1:111111111111:task-definition/release:7 ;;
      *AdminTaskDefinitionArn*) echo arn:aws:ecs:eu-central-1:111111111111:task-definition/admin:7 ;;
      *AdminKeySecretArn*) echo ${ADMIN_SECRET} ;;
      *ApiUrl*) echo https://api.example.org ;;
      *ServiceName*) echo svc ;;
      *) echo None ;;
    esac ;;
  "ecs run-task"*)
    case "$STUB_RUN_TASK" in
      ok) echo '{"tasks":[{"taskArn":"arn:aws:ecs:eu-central-1:111111111111:task/labclimate-cluster/abc"}],"failures":[]}' ;;
      none) echo '{"tasks":[],"failures":[{"arn":"arn:aws:ecs:eu-central-1:111111111111:container-instance/x","reason":"RESOURCE:ENI"}]}' ;;
      *) echo "An error occurred (AccessDeniedException)" >&2; exit 254 ;;
    esac ;;
  "ecs describe-tasks"*lastStatus*) echo "$STUB_LAST_STATUS" ;;
  "ecs describe-tasks"*exitCode*) echo "$STUB_EXIT_CODE" ;;
  "ecs describe-tasks"*stoppedReason*) echo "Essential container in task exited" ;;
  "ecs wait tasks-stopped"*) [ "$STUB_LAST_STATUS" = STOPPED ] || exit 255 ;;
  "ecs wait"*) exit 0 ;;
  *) echo "unexpected aws call: $*" >&2; exit 99 ;;
esac`)

interface Run { code: number, stdout: string, stderr: string, calls: string[] }
async function deploy (args: string[], env: Record<string, string> = {}): Promise<Run> {
  const log = join(mkdtempSync(join(tmpdir(), 'labclimate-deploy-log-')), 'calls')
  writeFileSync(log, '')
  return await new Promise((resolve) => {
    const child = execFile('sh', [script, ...args], {
      env: {
        PATH: `${stubs}:${process.env.PATH ?? ''}`,
        HOME: tmpdir(),
        AWS_REGION: 'eu-central-1',
        STUB_LOG: log,
        STUB_RUN_TASK: 'ok',
        STUB_EXIT_CODE: '0',
        STUB_LAST_STATUS: 'STOPPED',
        STUB_MISSING_OUTPUT: '',
        STUB_FAIL_DEPLOY: '',
        ...env
      },
      timeout: 60_000
    }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
      resolve({ code, stdout, stderr, calls: readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') })
    })
    child.stdin?.end() // not a terminal
  })
}
const indexOf = (calls: string[], pattern: RegExp): number => calls.findIndex((c) => pattern.test(c))
const DEPLOY_FIRST = /cdk deploy Labclimate-dev-Stateful Labclimate-dev-Release /
const RUN_RELEASE = /^aws ecs run-task .*task-definition\/release:7/
const DEPLOY_SERVICES = /cdk deploy Labclimate-dev-Service --exclusively/

t.test('dev: stateful + release stacks, then the release task, then the services; ends with how to get keys', async (t) => {
  const r = await deploy(['dev'])
  t.equal(r.code, 0, r.stderr)
  const steps = [
    DEPLOY_FIRST,
    RUN_RELEASE,
    /^aws ecs wait tasks-stopped/,
    /^aws ecs describe-tasks .*exitCode/,
    DEPLOY_SERVICES,
    /^aws ecs wait services-stable/
  ].map((p) => indexOf(r.calls, p))
  t.ok(steps.every((i) => i >= 0), `every step ran: ${steps.join(',')}`)
  t.same([...steps].sort((a, b) => a - b), steps, 'in this order: migrations and users before the services roll')
  t.ok(indexOf(r.calls, /^pnpm exec tap infra\/test/) < steps[0]!, 'offline checks before anything is deployed')
  t.ok(r.calls.filter((c) => / cdk deploy /.test(c)).every((c) => c.includes('--require-approval never')))
  t.match(r.stdout, `aws secretsmanager get-secret-value --region eu-central-1 --secret-id ${ADMIN_SECRET} --query SecretString --output text`)
  t.match(r.stdout, /aws ecs run-task .*--task-definition arn:aws:ecs:eu-central-1:111111111111:task-definition\/admin:7/)
  t.match(r.stdout, /"command":\["node","dist\/admin-main.js","keys","create","--role","read","--label","postman"\]/)
  t.match(r.stdout, /"command":\["node","dist\/admin-main.js","keys","create","--role","device","--lab","1",/)
  t.match(r.stdout, /subnets=\[subnet-a,subnet-b\],securityGroups=\[sg-1\]/)
})

for (const [name, env, message] of [
  ['run-task starts no task (ECS answers with failures)', { STUB_RUN_TASK: 'none' }, /release task did not start \(.*RESOURCE:ENI\)/],
  ['run-task itself fails', { STUB_RUN_TASK: 'error' }, /ecs run-task failed/],
  ['the release task exits 1 (a migration failed)', { STUB_EXIT_CODE: '1' },
    /release task exited with 1 \(Essential container in task exited\); logs: aws logs tail \/labclimate\/dev\/release/],
  ['the release container never ran (exit code None)', { STUB_EXIT_CODE: 'None' }, /release task exited with None/],
  ['the release task is still running after an hour of waiting', { STUB_LAST_STATUS: 'RUNNING' }, /release task .* is still RUNNING after an hour/],
  ['the release stack has no task definition output', { STUB_MISSING_OUTPUT: 'release' },
    /stack Labclimate-dev-Release has no output ReleaseTaskDefinitionArn/],
  ['the stateful/release deploy fails', { STUB_FAIL_DEPLOY: 'Labclimate-dev-Stateful' }, /deploying Labclimate-dev-Stateful\/-Release failed/]
] as const) {
  t.test(`${name}: the deploy stops with a clear message and the services are not deployed`, async (t) => {
    const r = await deploy(['dev'], env)
    t.not(r.code, 0)
    t.match(r.stderr, message)
    if (!name.includes('no task definition output')) t.match(r.stderr, /the services were not touched/)
    t.equal(indexOf(r.calls, DEPLOY_SERVICES), -1, 'no service deploy')
    t.notMatch(r.stdout, /is up at/)
  })
}

t.test('prod without a certificate is refused before anything runs', async (t) => {
  const r = await deploy(['prod', '--yes'])
  t.not(r.code, 0)
  t.match(r.stderr, /prod serves HTTPS only: pass -c certificateArn=/)
  t.same(r.calls, [])
})

t.test('prod without --yes and without a terminal is refused; with --yes it deploys without asking', async (t) => {
  const cert = ['-c', 'certificateArn=arn:aws:acm:eu-central-1:111111111111:certificate/abc']
  const refused = await deploy(['prod', ...cert])
  t.not(refused.code, 0)
  t.match(refused.stderr, /pass --yes/)
  t.same(refused.calls, [])
  const r = await deploy(['prod', ...cert, '--yes'])
  t.equal(r.code, 0, r.stderr)
  const deploys = r.calls.filter((c) => / cdk deploy /.test(c))
  t.equal(deploys.length, 2)
  for (const c of deploys) {
    t.match(c, '--require-approval never')
    t.match(c, '-c certificateArn=arn:aws:acm:eu-central-1:111111111111:certificate/abc')
    t.notMatch(c, '--yes', 'not passed on to cdk')
  }
})
