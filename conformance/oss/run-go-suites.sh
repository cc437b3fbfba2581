#!/usr/bin/env bash
# Runs the OSS Go SDK's own integration tests (package oss of
# github.com/aliyun/aliyun-oss-go-sdk, the version in the project's go.mod)
# against a fresh local cloud, and prints passed/failed per suite for the
# in-scope tests listed in in-scope.txt.
#
# The SDK package is copied from the module cache into the build directory
# (the cache is never modified) and the set-up changes of setup.patch (listed
# in SETUP-CHANGES.md) are applied to the copy.
#
# Exit status: 0 when every suite passes at least THRESHOLD percent of its
# in-scope tests, 1 otherwise.
#
# Environment: BUILD (default <repo>/build), THRESHOLD (default 90),
# SUITES (default: all six), GO (default go).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/conformance/oss
GO=${GO:-go}
OUT=${BUILD:-$ROOT/build}/conformance/oss
THRESHOLD=${THRESHOLD:-90}
SUITES=${SUITES:-OssClientSuite OssBucketSuite OssBucketMultipartSuite OssUploadSuite OssDownloadSuite OssCopySuite}

sdk_dir=$(cd "$ROOT" && "$GO" list -m -f '{{.Dir}}' github.com/aliyun/aliyun-oss-go-sdk)
rm -rf "$OUT"
mkdir -p "$OUT/sdk"

echo "== copying $sdk_dir/{oss,sample} and applying setup.patch"
# The tests read files beside them (bucket.go, ../sample/*.jpg): they run
# in the copied package directory.
cp -R "$sdk_dir/oss" "$OUT/sdk/oss"
cp -R "$sdk_dir/sample" "$OUT/sdk/sample"
chmod -R u+w "$OUT/sdk"
cp "$HERE/sdk.go.mod" "$OUT/sdk/go.mod"
cp "$HERE/sdk.go.sum" "$OUT/sdk/go.sum"
(cd "$OUT/sdk" && patch -p1 --quiet <"$HERE/setup.patch")

echo "== building the SDK's tests (-vet=off: the SDK's tests do not pass go vet)"
(cd "$OUT/sdk" && "$GO" test -vet=off -c -o "$OUT/oss.test" ./oss)

echo "== starting a fresh local cloud"
# shellcheck source=../local-cloud.sh
source "$ROOT/conformance/local-cloud.sh"
start_local_cloud "$OUT/cloud"
endpoint=$OSS_ENDPOINT

failed_suites=0
summary=()
for suite in $SUITES; do
	mapfile -t tests < <(grep -E "^$suite\.Test" "$HERE/in-scope.txt" | awk '{print $1}')
	total=${#tests[@]}
	if ((total == 0)); then
		continue
	fi
	regex="^($(printf '%s\n' "${tests[@]}" | sed 's/\./\\./' | paste -sd'|'))\$"
	log="$OUT/$suite.log"
	echo "== $suite: $total in-scope tests (log: $log)"
	(cd "$OUT/sdk/oss" && OSS_TEST_ENDPOINT="$endpoint" OSS_TEST_ACCESS_KEY_ID=local-dev-key \
		OSS_ACCESS_KEY_ID=local-dev-key OSS_ACCESS_KEY_SECRET=local-dev-secret \
		OSS_TEST_ACCESS_KEY_SECRET=local-dev-secret OSS_TEST_REGION=cn-hangzhou \
		"$OUT/oss.test" -test.run '^Test$' -test.timeout 60m -check.v -check.f "$regex") >"$log" 2>&1 || true
	passed=0
	failures=()
	for t in "${tests[@]}"; do
		if grep -qE "^PASS: [^ ]+ $t[[:space:]]" "$log"; then
			passed=$((passed + 1))
		else
			failures+=("$t")
		fi
	done
	pct=$((passed * 100 / total))
	line="$suite: passed $passed of $total ($pct%), failed $((total - passed))"
	summary+=("$line")
	echo "   $line"
	for f in "${failures[@]}"; do echo "     failed: $f"; done
	if ((passed * 100 < THRESHOLD * total)); then
		failed_suites=$((failed_suites + 1))
	fi
done

echo "== summary (threshold $THRESHOLD%)"
printf '   %s\n' "${summary[@]}"
if ((failed_suites > 0)); then
	echo "$failed_suites suite(s) below the threshold" >&2
	exit 1
fi
