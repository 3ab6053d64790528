// The release step of issue 11: migrations, per-role users and the first admin key run in a one-off task
// that exists (and has run, scripts/deploy.sh) before the services roll; only it sees the master secret.
import t from 'tap'
import { ADMIN_COMMAND } from '../lib/constructs/admin-task.ts'
import { RELEASE_COMMAND } from '../lib/constructs/release-task.ts'
import { ADMIN_KEY_PLACEHOLDER } from '../lib/stateful-stack.ts'
import { synth } from './helper.ts'

// CDK synth on a shared 2-core machine: allow more than tap's default 120 s.
t.setTimeout(300_000)

type Props = Record<string, any>
const prod = synth('prod')
const release = prod.releaseTemplate
const resources = (type: string): Array<[string, Props]> => Object.entries(release.findResources(type)).map(([id, r]) => [id, (r.Properties ?? {}) as Props])
const container = (name: string): Props => resources('AWS::ECS::TaskDefinition')
  .map(([, p]) => (p.ContainerDefinitions as Props[])[0] as Props)
  .find((d) => d.Name === name) as Props
const envOf = (d: Props): Record<string, unknown> =>
  Object.fromEntries((d.Environment as Array<{ Name: string, Value: unknown }>).map((e) => [e.Name, e.Value]))

t.test('migrations run before the services update: ServiceStack depends on ReleaseStack, which holds no service', async (t) => {
  const manifest = prod.app.synth().manifest.artifacts ?? {}
  const deps = (id: string): string[] => (manifest[id]?.dependencies ?? []).filter((d) => !d.endsWith('.assets'))
  t.same(deps('Labclimate-prod-Service').sort(), ['Labclimate-prod-Release', 'Labclimate-prod-Stateful'])
  t.same(deps('Labclimate-prod-Release'), ['Labclimate-prod-Stateful'])
  release.resourceCountIs('AWS::ECS::Service', 0)
  release.resourceCountIs('AWS::ECS::Cluster', 1)
  // The services run in the release stack's cluster, found through its export (so they cannot exist first).
  const services = Object.values(prod.serviceTemplate.findResources('AWS::ECS::Service')).map((r) => JSON.stringify((r.Properties as Props).Cluster))
  t.same(services, ['{"Fn::ImportValue":"Labclimate-prod-ClusterName"}', '{"Fn::ImportValue":"Labclimate-prod-ClusterName"}'])
})

t.test('the release task runs bootstrap (migrations, users, first admin key) as the master user, with IAM role users', async (t) => {
  const d = container('release')
  t.same(d.Command, ['node', 'dist/admin-main.js', 'bootstrap'])
  t.same(d.Command, RELEASE_COMMAND)
  t.same(d.Image, container('admin').Image, 'same image as the admin CLI')
  const env = envOf(d)
  t.match(JSON.stringify(env.ADMIN_KEY_SECRET_ARN), /AdminKey/)
  t.equal(env.AWS_REGION, 'eu-central-1', 'for Secrets Manager')
  t.equal(env.DATABASE_TLS, 'true')
  t.equal(env.ROLE_USERS_AUTH, 'iam', 'role users are created for IAM tokens, not passwords')
  t.equal(env.DATABASE_IAM_AUTH, undefined, 'the master user signs in with its password')
})

t.test('only the release task gets the master secret; only it may write the admin key secret', async (t) => {
  const withSecrets = resources('AWS::ECS::TaskDefinition')
    .map(([, p]) => (p.ContainerDefinitions as Props[])[0] as Props)
    .filter((d) => d.Secrets !== undefined)
  t.same(withSecrets.map((d) => d.Name), ['release'])
  const secrets = container('release').Secrets as Array<{ Name: string, ValueFrom: unknown }>
  t.same(secrets.map((s) => s.Name).sort(), ['DB_PASSWORD', 'DB_USER'])
  t.match(JSON.stringify(secrets.find((s) => s.Name === 'DB_PASSWORD')?.ValueFrom), /:password::/)
  for (const tpl of [prod.serviceTemplate]) {
    for (const [, r] of Object.entries(tpl.findResources('AWS::ECS::TaskDefinition'))) {
      t.notOk(JSON.stringify(r).includes('"Secrets"'), 'no service task has ECS secrets')
    }
  }
  const policies = resources('AWS::IAM::Policy').map(([id, p]) => [id, JSON.stringify(p.PolicyDocument)] as const)
  const writers = policies.filter(([, d]) => d.includes('secretsmanager:PutSecretValue')).map(([id]) => id)
  t.equal(writers.length, 1)
  t.match(writers[0], /^ReleaseTaskTaskRole/)
  t.notMatch(JSON.stringify(prod.serviceTemplate.toJSON()), /secretsmanager:PutSecretValue/)
})

t.test('the CLI runs as a one-off admin task: IAM user labclimate_migrate, writer, TLS', async (t) => {
  const d = container('admin')
  t.same(d.Command, ADMIN_COMMAND)
  t.equal(d.Secrets, undefined)
  const env = envOf(d)
  t.match(JSON.stringify(env.DATABASE_URL), /mysql:\/\/labclimate_migrate@/)
  t.equal(env.DATABASE_IAM_AUTH, 'true')
  t.equal(env.DATABASE_TLS, 'true')
  const outputs = Object.keys(release.findOutputs('*'))
  for (const o of ['ClusterName', 'ReleaseTaskDefinitionArn', 'AdminTaskDefinitionArn']) t.ok(outputs.includes(o), `output ${o} for scripts/deploy.sh`)
  t.ok(Object.keys(prod.statefulTemplate.findOutputs('*')).includes('AdminKeySecretArn'))
  // Until the release task writes the key, the secret says so instead of holding a random string.
  const adminSecret = Object.entries(prod.statefulTemplate.findResources('AWS::SecretsManager::Secret'))
    .find(([id]) => id.startsWith('AdminKey'))?.[1].Properties as Props
  t.equal(adminSecret.SecretString, ADMIN_KEY_PLACEHOLDER)
  t.equal(adminSecret.GenerateSecretString, undefined)
})
