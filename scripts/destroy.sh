#!/bin/sh
# Tears down a non-production stage: pnpm destroy:stage dev
# Refuses prod (its database has deletion protection and its stacks termination protection anyway).
# The archive and access-log buckets are retained by design; the script names them for manual deletion.
set -eu
stage="${1:-}"
case "$stage" in
  prod) echo "destroy: refusing to destroy prod" >&2; exit 2 ;;
  ''|*[!a-z0-9]*) echo "usage: pnpm destroy:stage dev" >&2; exit 2 ;;
esac
shift
cd "$(dirname "$0")/.."
command -v aws >/dev/null 2>&1 || { echo "destroy: AWS CLI v2 is required" >&2; exit 1; }
account="$(aws sts get-caller-identity --query Account --output text)"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}"
export CDK_DEFAULT_ACCOUNT="$account" CDK_DEFAULT_REGION="$region"
echo "destroy: stage $stage in account $account, $region"
pnpm --filter @labclimate/infra run cdk destroy --all --force -c stage="$stage" "$@"
echo "destroy: retained buckets (delete by hand if wanted): labclimate-$stage-archive-$account-$region and the Labclimate-$stage-Stateful access-log bucket"
