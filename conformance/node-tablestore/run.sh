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

data="$build/data"
rm -rf "$data"
(cd "$root" && go build -o "$build/delivery-executor" ./executor/cmd/delivery-executor)
log="$build/localcloud.log"
"$build/delivery-executor" local --data-dir "$data" --tablestore-listen 127.0.0.1:0 --oss-listen 127.0.0.1:0 >"$log" 2>&1 &
cloud_pid=$!
trap 'kill "$cloud_pid" 2>/dev/null || true; wait "$cloud_pid" 2>/dev/null || true' EXIT
endpoint=
for _ in $(seq 1 300); do
	endpoint=$(sed -n 's/^ready .*tablestore=\([^ ]*\).*/\1/p' "$log" | head -1)
	[[ -n "$endpoint" ]] && break
	kill -0 "$cloud_pid" 2>/dev/null || { cat "$log" >&2; exit 2; }
	sleep 0.1
done
[[ -n "$endpoint" ]] || { echo "the local cloud printed no ready line" >&2; cat "$log" >&2; exit 2; }
echo "local cloud: $endpoint (log: $log); npm tablestore $(node -p "require('$here/node_modules/tablestore/package.json').version")"

cd "$here"
TABLESTORE_ENDPOINT=$endpoint node --test --test-concurrency=1 --test-reporter=spec
