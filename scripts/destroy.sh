#!/bin/sh
# Tears down a non-production stage: pnpm destroy:stage dev
# Refuses prod (its database has deletion protection, its stateful stack termination protection, and its
# buckets, queues and the admin-key secret are retained). In dev nothing is retained and no physical name is fixed
# (buckets are emptied by CDK's auto-delete), so `pnpm deploy:stage dev` works again right after this.
set -eu
fail () { echo "destroy: $*" >&2; exit 1; }
stage="${1:-}"
case "$stage" in
  prod) echo "destroy: refusing to destroy prod" >&2; exit 2 ;;
  ''|*[!a-z0-9]*) echo "usage: pnpm destroy:stage dev" >&2; exit 2 ;;
esac
shift
cd "$(dirname "$0")/.."
command -v aws >/dev/null 2>&1 || fail "AWS CLI v2 is required"
account="$(aws sts get-caller-identity --query Account --output text)" || fail "no AWS credentials"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}"
[ -n "$region" ] || fail "set AWS_REGION"
export CDK_DEFAULT_ACCOUNT="$account" CDK_DEFAULT_REGION="$region"
echo "destroy: stage $stage in account $account, $region"
# Service first, then Release, then Stateful (cdk destroy --all follows the dependencies in reverse).
pnpm --filter @labclimate/infra run cdk destroy --all --force -c stage="$stage" "$@" \
  || fail "cdk destroy failed; the stack events in the CloudFormation console say which resource held it"
echo "destroy: $stage is gone (secrets wait out their recovery window under generated names; a new deploy does not collide)"
