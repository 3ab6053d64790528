#!/bin/sh
# Deploys one stage of labclimate to AWS, in an order that never rolls the services onto a schema or
# users that are not there yet:
#   1. Labclimate-<stage>-Stateful and -Release (network, Aurora, SQS, buckets; ECS cluster and the
#      release/admin task definitions in the new worker image);
#   2. the release task, once: migrations, per-role database users and grants, the first admin key
#      (stored in Secrets Manager). Any failure stops here, with the running services untouched;
#   3. Labclimate-<stage>-Service: ECS rolls the API and worker (circuit breaker and deployment alarms
#      roll a bad release back), then waits until both are stable;
#   4. prints the API URL, the command that reads the admin key, and how to make read and device keys.
#
#   pnpm deploy:stage dev
#   pnpm deploy:stage prod -c certificateArn=arn:aws:acm:... -c alarmEmail=oncall@example.org [--yes]
#
# prod asks before IAM or security-group changes are widened, so it needs a terminal; --yes deploys
# without asking (CI). Needs AWS credentials (AWS_PROFILE or the usual variables) and AWS_REGION, a
# running Docker engine (images are built locally), the AWS CLI v2, pnpm 12 and Node. docs/deploy.md.
set -eu
fail () { echo "deploy: $*" >&2; exit 1; }
usage="usage: pnpm deploy:stage dev|prod [--yes] [-c certificateArn=...] [-c alarmEmail=...]"
usage="$usage [-c domainName=... -c hostedZoneId=...] [-c burstTimeZone=Europe/Berlin]"
stage="${1:-}"
case "$stage" in dev|prod) shift ;; *) echo "$usage" >&2; exit 2 ;; esac

# Everything after the stage goes to cdk, except --yes.
yes=0
certificate=0
for arg in "$@"; do
  shift
  case "$arg" in
    --yes) yes=1; continue ;;
    certificateArn=?*|--context=certificateArn=?*) certificate=1 ;;
  esac
  set -- "$@" "$arg"
done
if [ "$stage" = prod ]; then
  [ "$certificate" = 1 ] || fail "prod serves HTTPS only: pass -c certificateArn=arn:aws:acm:<region>:<account>:certificate/<id> (docs/deploy.md, step 3)"
  if [ "$yes" = 1 ]; then
    approval=never
  else
    [ -t 0 ] || fail "prod asks before widening IAM or security groups and there is no terminal to ask on:" \
      "run it in a terminal, or pass --yes to deploy without asking"
    approval=broadening
  fi
else
  approval=never
fi
cd "$(dirname "$0")/.."

need () { command -v "$1" >/dev/null 2>&1 || fail "$1 is required ($2)"; }
need aws "AWS CLI v2"
need docker "a Docker engine builds the images"
need pnpm "pnpm 12.4.2"
docker info >/dev/null 2>&1 || fail "the Docker engine is not running"
account="$(aws sts get-caller-identity --query Account --output text)" || fail "no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}"
[ -n "$region" ] || fail "set AWS_REGION"
export CDK_DEFAULT_ACCOUNT="$account" CDK_DEFAULT_REGION="$region" AWS_REGION="$region"
echo "deploy: stage $stage to account $account in $region"

cdk () { pnpm --filter @labclimate/infra run cdk "$@"; }
pnpm install --frozen-lockfile || fail "pnpm install failed"
# Offline checks first: infra tests (assertions, cdk-nag, cfn-lint) must pass before anything is touched.
pnpm exec tap infra/test/*.test.ts || fail "the offline infra checks failed; nothing was deployed"
cdk bootstrap "aws://$account/$region" -c stage="$stage" "$@" || fail "cdk bootstrap failed"

echo "deploy: 1/3 stateful resources and release tasks"
cdk deploy "Labclimate-$stage-Stateful" "Labclimate-$stage-Release" -c stage="$stage" "$@" --require-approval "$approval" \
  || fail "deploying Labclimate-$stage-Stateful/-Release failed (CloudFormation events in the console say why); the services were not touched"

out () {
  value="$(aws cloudformation describe-stacks --stack-name "Labclimate-$stage-$1" --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text)" \
    || fail "cannot read output $2 of Labclimate-$stage-$1"
  case "$value" in ''|None) fail "stack Labclimate-$stage-$1 has no output $2" ;; esac
  printf '%s\n' "$value"
}
# Each output into a variable first: a missing one stops the script here (set -e), not inside a command.
cluster="$(out Release ClusterName)"
release_task="$(out Release ReleaseTaskDefinitionArn)"
subnets="$(out Stateful AppSubnetIds)"
security_group="$(out Stateful WorkerSecurityGroupId)"
network="awsvpcConfiguration={subnets=[$subnets],securityGroups=[$security_group],assignPublicIp=DISABLED}"

echo "deploy: 2/3 release task (migrations, database users, first admin key)"
started="$(aws ecs run-task --cluster "$cluster" --launch-type FARGATE --task-definition "$release_task" \
  --network-configuration "$network" --started-by labclimate-deploy --output json)" \
  || fail "ecs run-task failed for the release task; the services were not touched"
task="$(printf '%s' "$started" | node -e 'let s="";process.stdin.on("data",(d)=>{s+=d})
  .on("end",()=>{const r=JSON.parse(s);process.stdout.write(r.tasks?.[0]?.taskArn??"")})')"
if [ -z "$task" ]; then
  reasons="$(printf '%s' "$started" | node -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{const r=JSON.parse(s);
    process.stdout.write((r.failures??[]).map((f)=>`${f.arn??""} ${f.reason??""} ${f.detail??""}`.trim()).join("; ")||"no reason given")})')"
  fail "the release task did not start ($reasons); the services were not touched"
fi
echo "deploy: release task $task"
# The waiter gives up after 10 minutes; a long migration may take longer (up to an hour here).
for _ in 1 2 3 4 5 6; do
  aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task" && break
  echo "deploy: release task still running"
done
status="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].lastStatus' --output text)" \
  || fail "cannot describe release task $task"
[ "$status" = STOPPED ] || fail "release task $task is still $status after an hour; the services were not touched (stop it or wait, then deploy again)"
code="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].containers[0].exitCode' --output text)" \
  || fail "cannot describe release task $task"
if [ "$code" != 0 ]; then
  why="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].stoppedReason' --output text || true)"
  fail "release task exited with ${code} (${why}); logs: aws logs tail /labclimate/$stage/release --since 1h; the services were not touched"
fi

echo "deploy: 3/3 services"
cdk deploy "Labclimate-$stage-Service" --exclusively -c stage="$stage" "$@" --require-approval "$approval" \
  || fail "deploying Labclimate-$stage-Service failed; ECS rolled the services back to the previous release (see the stack's events)"
api_service="$(out Service ApiServiceName)"
worker_service="$(out Service WorkerServiceName)"
aws ecs wait services-stable --cluster "$cluster" --services "$api_service" "$worker_service" \
  || fail "the services did not become stable"

url="$(out Service ApiUrl)"
secret="$(out Stateful AdminKeySecretArn)"
admin="$(out Release AdminTaskDefinitionArn)"
cli () {
  printf "  aws ecs run-task --region %s --cluster %s --launch-type FARGATE --task-definition %s \\\\\n" "$region" "$cluster" "$admin"
  printf "    --network-configuration '%s' \\\\\n" "$network"
  printf "    --overrides '{\"containerOverrides\":[{\"name\":\"admin\",\"command\":[\"node\",\"dist/admin-main.js\",%s]}]}'\n" "$1"
}
cat <<EOF
deploy: $stage is up at $url

The first admin key (created by the release task when none exists; later deploys keep it):
  aws secretsmanager get-secret-value --region $region --secret-id $secret --query SecretString --output text

Read and device keys, either with the admin key over HTTPS (Postman: docs/deploy.md, step 6):
  curl -X POST $url/labs -H "Authorization: Bearer <admin key>" -H 'content-type: application/json' -d '{"name":"Lab 1","address":"Room 101","id":1}'
  curl -X POST $url/keys -H "Authorization: Bearer <admin key>" -H 'content-type: application/json' -d '{"role":"read","label":"postman"}'
  curl -X POST $url/keys -H "Authorization: Bearer <admin key>" -H 'content-type: application/json' -d '{"role":"device","lab_id":1,"label":"lab 1 device"}'
or with the labclimate CLI as a one-off task (it prints the key in: aws logs tail /labclimate/$stage/release --since 10m):
$(cli '"keys","create","--role","read","--label","postman"')
$(cli '"keys","create","--role","device","--lab","1","--label","lab 1 device"')
Then: curl -H "Authorization: Bearer <read key>" $url/labs
EOF
