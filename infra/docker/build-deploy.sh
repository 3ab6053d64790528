#!/bin/sh
# Builds one app's production folder: compiled JS, production dependencies only, no TypeScript.
# The Dockerfiles run exactly this, and test/deploy-folder.test.ts runs it and boots the result.
#   usage: sh infra/docker/build-deploy.sh api|worker OUT_DIR      (from the repo root, after pnpm install)
set -eu
app="$1"
out="$2"
case "$app" in api|worker) ;; *) echo "usage: build-deploy.sh api|worker OUT_DIR" >&2; exit 2 ;; esac

# 1. tsc: the app and every workspace package it depends on, src/*.ts -> dist/*.js (type stripping only;
#    `pnpm typecheck` is where types are checked). Node will not strip types under node_modules.
pnpm --filter "@labclimate/$app..." run build
# 2. pnpm deploy: the app's `files` (dist) + its production dependencies, workspace packages injected as copies.
rm -rf "$out"
pnpm --filter "@labclimate/$app" deploy --prod "$out"
# 3. pnpm deploy does not apply `publishConfig` to injected workspace packages (pnpm/pnpm#6693):
#    point their `exports` at dist/*.js.
pnpm exec node infra/docker/prepare-deploy.ts "$out"
