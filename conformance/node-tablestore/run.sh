#!/usr/bin/env bash
# Runs the Node.js checks with Alibaba's npm `tablestore` client (the version
# pinned in package-lock.json) against a fresh local cloud.
#
#   conformance/node-tablestore/run.sh [BUILD_DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/conformance/node-tablestore}
mkdir -p "$build"
build=$(cd "$build" && pwd)

if [[ ! -d "$here/node_modules/tablestore" || "$here/package-lock.json" -nt "$here/node_modules" ]]; then
	# `npm ci` installs exactly the locked versions.
	npm ci --prefix "$here" --no-audit --no-fund
fi

# shellcheck source=../local-cloud.sh
source "$root/conformance/local-cloud.sh"
start_local_cloud "$build"
endpoint=$TABLESTORE_ENDPOINT
echo "npm tablestore $(node -p "require('$here/node_modules/tablestore/package.json').version")"

cd "$here"
TABLESTORE_ENDPOINT=$endpoint node --test --test-concurrency=1 --test-reporter=spec
