#!/bin/sh
# Deploys one stage of labclimate to AWS: builds both images and pushes them as CDK assets, deploys the
# stateful stack then the service stack (ECS rolls the services with circuit-breaker rollback and
# CloudFormation waits for them to be stable), runs the migrations as a one-off task, and waits again.
#
#   pnpm deploy:stage dev
#   pnpm deploy:stage prod -c certificateArn=arn:aws:acm:... -c alarmEmail=oncall@example.org
#
# Needs: AWS credentials for the target account in the environment or profile (AWS_PROFILE, AWS_REGION),
# a running Docker engine (the images are built locally), the AWS CLI v2, pnpm 12 and Node (pinned).
# More in docs/deploy.md.
set -eu
stage="${1:-}"
case "$stage" in dev|prod) shift ;; *) echo "usage: pnpm deploy:stage dev|prod [-c certificateArn=...] [-c alarmEmail=...]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."

need () { command -v "$1" >/dev/null 2>&1 || { echo "deploy: $1 is required ($2)" >&2; exit 1; }; }
need aws "AWS CLI v2"
need docker "a Docker engine builds the images"
need pnpm "pnpm 12.4.2"
docker info >/dev/null 2>&1 || { echo "deploy: the Docker engine is not running" >&2; exit 1; }
account="$(aws sts get-caller-identity --query Account --output text)" || { echo "deploy: no AWS credentials" >&2; exit 1; }
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}"
[ -n "$region" ] || { echo "deploy: set AWS_REGION" >&2; exit 1; }
export CDK_DEFAULT_ACCOUNT="$account" CDK_DEFAULT_REGION="$region"
echo "deploy: stage $stage to account $account in $region"

cdk () { pnpm --filter @labclimate/infra run cdk "$@"; }
pnpm install --frozen-lockfile
# Offline checks first: infra tests (assertions, cdk-nag, cfn-lint) must pass before anything is touched.
pnpm exec tap infra/test/*.test.ts
cdk bootstrap "aws://$account/$region" -c stage="$stage" "$@"
approval=never
[ "$stage" = prod ] && approval=broadening # prod asks before widening IAM or security groups
cdk deploy --all -c stage="$stage" "$@" --require-approval "$approval" --outputs-file "cdk.out/outputs-$stage.json"

out () { aws cloudformation describe-stacks --stack-name "Labclimate-$stage-$1" --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text; }
cluster="$(out Service ClusterName)"
# Migrations: the worker also applies them before consuming (Kysely's migrator takes a lock); this
# one-off task makes a failed migration fail the deploy loudly. Migrations are expand-only, so the
# previous version keeps working while the services roll.
task="$(aws ecs run-task --cluster "$cluster" --launch-type FARGATE --task-definition "$(out Service MigrateTaskDefinitionArn)" \
  --network-configuration "awsvpcConfiguration={subnets=[$(out Stateful AppSubnetIds)],securityGroups=[$(out Stateful WorkerSecurityGroupId)],assignPublicIp=DISABLED}" \
  --query 'tasks[0].taskArn' --output text)"
echo "deploy: migrating ($task)"
aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task"
code="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].containers[0].exitCode' --output text)"
[ "$code" = 0 ] || { echo "deploy: migration task exited $code: see log group /labclimate/$stage/maintenance" >&2; exit 1; }
aws ecs wait services-stable --cluster "$cluster" --services "$(out Service ApiServiceName)" "$(out Service WorkerServiceName)"
echo "deploy: $stage is up at $(out Service ApiUrl)"
