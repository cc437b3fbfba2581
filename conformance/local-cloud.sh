# Sourced by the conformance runners: start_local_cloud DIR [FLAG...] builds
# the local cloud's own binary (executor/cmd/localcloud) from this checkout
# into DIR, starts it on free ports with a fresh data directory under DIR and
# any extra flags, stops it when the calling script exits, and sets
# OSS_ENDPOINT and TABLESTORE_ENDPOINT.
start_local_cloud() {
	local dir=$1 root
	shift
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	mkdir -p "$dir"
	rm -rf "$dir/data"
	(cd "$root" && "${GO:-go}" build -o "$dir/localcloud" ./executor/cmd/localcloud)
	"$dir/localcloud" --data-dir "$dir/data" --oss-listen 127.0.0.1:0 --tablestore-listen 127.0.0.1:0 \
		--log-level warn "$@" >"$dir/local-cloud.out" 2>"$dir/local-cloud.log" &
	LOCAL_CLOUD_PID=$!
	trap 'kill "$LOCAL_CLOUD_PID" 2>/dev/null || true; wait "$LOCAL_CLOUD_PID" 2>/dev/null || true' EXIT
	OSS_ENDPOINT=""
	for _ in $(seq 1 300); do
		OSS_ENDPOINT=$(grep -o 'oss=http://[^ ]*' "$dir/local-cloud.out" 2>/dev/null | head -1 | cut -d= -f2 || true)
		[[ -n $OSS_ENDPOINT ]] && break
		if ! kill -0 "$LOCAL_CLOUD_PID" 2>/dev/null; then
			cat "$dir/local-cloud.log" >&2
			echo "the local cloud exited during start-up" >&2
			return 1
		fi
		sleep 0.1
	done
	[[ -n $OSS_ENDPOINT ]] || { echo "the local cloud did not report ready" >&2; return 1; }
	TABLESTORE_ENDPOINT=$(grep -o 'tablestore=http://[^ ]*' "$dir/local-cloud.out" | head -1 | cut -d= -f2)
	export OSS_ENDPOINT TABLESTORE_ENDPOINT
	echo "   local cloud: oss=$OSS_ENDPOINT tablestore=$TABLESTORE_ENDPOINT (logs in $dir)"
}
