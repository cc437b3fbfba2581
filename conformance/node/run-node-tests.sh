#!/usr/bin/env bash
# Runs the Node.js conformance tests (ali-oss, pinned in package-lock.json,
# in V1 and V4 signing modes) against a fresh local cloud. Exit status is
# node's: non-zero when any check fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/conformance/node
OUT=${BUILD:-$ROOT/build}/conformance/node

echo "== installing the pinned Node.js clients (npm ci)"
npm ci --prefix "$HERE" --no-audit --no-fund --loglevel=error

echo "== starting a fresh local cloud"
# shellcheck source=../local-cloud.sh
source "$ROOT/conformance/local-cloud.sh"
start_local_cloud "$OUT"

echo "== node --test (ali-oss $(node -p "require('$HERE/node_modules/ali-oss/package.json').version"))"
cd "$HERE"
OSS_ACCESS_KEY_ID=local-dev-key OSS_ACCESS_KEY_SECRET=local-dev-secret OSS_REGION=cn-hangzhou \
	node --test --test-reporter=spec ./*.test.mjs
