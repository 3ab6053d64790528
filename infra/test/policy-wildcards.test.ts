// No task role is granted a wildcard, checked on the policies' structure: `"Resource": ["*"]` inside an array
// and actions like `sqs:*` count, not only the literal text `"Action":"*"`.
import { Template } from 'aws-cdk-lib/assertions'
import { App, Stack } from 'aws-cdk-lib'
import * as iam from 'aws-cdk-lib/aws-iam'
import t from 'tap'
import { policyWildcards, synth } from './helper.ts'

t.setTimeout(300_000)

t.test('the check itself finds every form of wildcard', async (t) => {
  const stack = new Stack(new App(), 'Control')
  const role = new iam.Role(stack, 'ControlRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') })
  role.addToPolicy(new iam.PolicyStatement({ actions: ['sqs:*'], resources: ['arn:aws:sqs:eu-central-1:111111111111:q'] }))
  role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/k', '*'] }))
  role.addToPolicy(new iam.PolicyStatement({ notActions: ['iam:*'], resources: ['arn:aws:s3:::b'] }))
  const found = policyWildcards(Template.fromStack(stack), 'ControlRole')
  t.ok(found.some((f) => f.endsWith('action sqs:*')), 'a service-wide action')
  t.ok(found.some((f) => f.endsWith('resource *')), 'a * among other resources')
  t.ok(found.some((f) => f.endsWith('NotAction')), 'a NotAction')
})

t.test('prod task roles grant no wildcard action or resource', async (t) => {
  const { serviceTemplate } = synth('prod', { certificateArn: 'arn:aws:acm:eu-central-1:111111111111:certificate/abc' })
  for (const role of ['ApiTaskTaskRole', 'WorkerTaskTaskRole', 'MaintenanceTaskTaskRole']) {
    t.ok(Object.keys(serviceTemplate.findResources('AWS::IAM::Policy')).some((id) => id.startsWith(role)), `${role} has a policy to check`)
    t.same(policyWildcards(serviceTemplate, role), [], `${role}: no wildcard`)
  }
})
