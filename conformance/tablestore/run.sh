#!/usr/bin/env bash
# Runs the Tablestore Go SDK's own test suites against a fresh local cloud and
# prints passed/failed per suite.
#
#   conformance/tablestore/run.sh [BUILD_DIR]
#
# The SDK module is copied from the module cache into BUILD_DIR (never modified
# in place); the set-up changes in patches/ are applied to the copy. The suites
# are configured through the SDK's testConfig package variables (-ldflags -X).
# Out of scope (not selected): search, SQL, time series, global tables, local
# transactions. Exit status: 0 when every suite reaches MIN_PERCENT (default 90)
# of its selected tests.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/conformance/tablestore}
min_percent=${MIN_PERCENT:-90}
sdk_version=v1.8.0
sdk_mod=github.com/aliyun/aliyun-tablestore-go-sdk

mkdir -p "$build"
build=$(cd "$build" && pwd)

# ---- the SDK copy ----
sdk_src=$(cd "$root" && go list -m -f '{{.Dir}}' "$sdk_mod")
[[ -n "$sdk_src" && -d "$sdk_src" ]] || { echo "cannot find $sdk_mod in the module cache" >&2; exit 2; }
sdk="$build/sdk-$sdk_version"
rm -rf "$sdk"
cp -r "$sdk_src/." "$sdk/"
chmod -R u+w "$sdk"
echo "set-up changes applied to the SDK copy in $sdk:"
for p in "$here"/patches/*.patch; do
	echo "  $(basename "$p")"
	patch -s -p1 -d "$sdk" <"$p"
done

# ---- a fresh local cloud on free ports ----
# One shard (partition) per new table, as a new table of the real service has:
# TestStream expects DescribeStream of a new table to list exactly one shard.
# shellcheck source=../local-cloud.sh
source "$root/conformance/local-cloud.sh"
start_local_cloud "$build" --tablestore-shards 1
endpoint=$TABLESTORE_ENDPOINT

tc=$sdk_mod/testConfig
ldflags="-X $tc.OtsEndpoint=$endpoint -X $tc.InstanceName=local -X $tc.OtsAccessId=local-dev-key -X $tc.OtsAccessKey=local-dev-secret -X $tc.Region=cn-hangzhou"

# In-scope gocheck tests of the `tablestore` package's TableStoreSuite (TestApi):
# every test but the SQL ones.
api_tests='TestNewClientWithConfig|TestNewClientWithCredentialsProvider|TestNewClientWithV4Credentials|TestNewClientWithV4CredentialsAndEmptyRegion'
api_tests+='|TestCreateTable|TestCreateTableWithOriginColumn|TestReCreateTableAndPutRow|TestListTable|TestUpdateAndDescribeTable'
api_tests+='|TestTableWithKeyAutoIncrement|TestPutGetRow|TestCreateTableAndPutRow|TestPutGetRowWithTimestamp|TestPutGetRowWithFilter'
api_tests+='|TestPutUpdateDeleteRow|TestBatchGetRow|TestBatchGetRowWithFilter|TestBatchWriteRow|TestBatchWriteRowReturnPK'
api_tests+='|TestBatchWriteRowReturnColumn|TestAtomicBatchWriteRowWithSamePartitionKey|TestAtomicBatchWriteRowWithDiffPartitionKey'
api_tests+='|TestFuzzyGetRangeMatrix|TestGetRange|TestGetRangeWithPagination|TestGetRangeWithFilter|TestGetRangeWithMinMaxValue'
api_tests+='|TestPutRowsWorkload|TestFailureCase|TestMockHttpClientCase|TestUnit|TestListStream|TestCreateTableWithStream|TestStream'
api_tests+='|TestUserSetTraceIDAlwaysRetry'

summary="$build/summary.txt"
: >"$summary"
status=0

# run_suite NAME PACKAGE GO_TEST_ARGS...: runs the package's tests, counts
# gocheck results (PASS:/FAIL:/PANIC:/MISS:), plain tests (--- PASS/FAIL) and
# benchmarks (a result line, or --- FAIL).
run_suite() {
	local name=$1 pkg=$2
	shift 2
	local out="$build/${name//\//_}.log"
	echo "== $name: go test $pkg $*"
	(cd "$sdk" && GOFLAGS=-mod=mod go test -count=1 -timeout 20m -ldflags "$ldflags" "$pkg" "$@") >"$out" 2>&1 || true
	local passed failed
	# The gocheck suites run inside one Go test (TestApi, Test): its own
	# --- PASS/--- FAIL line is not a test of its own.
	passed=$(grep -E '^PASS: |^--- PASS: |^Benchmark[^ ]+[[:space:]]+[0-9]+[[:space:]]+[0-9.]+ ns/op' "$out" | grep -cvE '^--- PASS: (TestApi|Test) ' || true)
	failed=$(grep -E '^(FAIL|PANIC|MISS): |^--- FAIL: ' "$out" | grep -cvE '^--- FAIL: (TestApi|Test) ' || true)
	if ! grep -qE '^(ok|FAIL|PASS)' "$out" && [[ $passed -eq 0 ]]; then
		failed=$((failed + 1))
		echo "   (the package did not build or run; see $out)"
	fi
	local total=$((passed + failed)) pct=0
	((total > 0)) && pct=$((passed * 100 / total))
	printf '%-18s passed %3d  failed %3d  of %3d  (%d%%)\n' "$name" "$passed" "$failed" "$total" "$pct" | tee -a "$summary"
	grep -E '^(FAIL|PANIC|MISS): |^--- FAIL: ' "$out" | grep -vE '^--- FAIL: (TestApi|Test) ' | sed 's/^/     /' | tee -a "$summary" || true
	if ((pct < min_percent)); then status=1; fi
}

run_suite tablestore ./tablestore -run '^(TestApi|Test_WriteAndReadOtsData)$' -v -check.v -check.f "^TableStoreSuite\\.($api_tests)\$"
run_suite tunnel/restore ./tunnel/restore -run '^(Test|TestProcessPreviousBatch)$' -v -check.v
run_suite timeline ./timeline -run '^$' -bench . -benchtime 1x
run_suite timeline/writer ./timeline/writer -run '^$' -bench . -benchtime 1x

echo
echo "summary (also in $summary):"
grep -E 'passed' "$summary"
exit $status
