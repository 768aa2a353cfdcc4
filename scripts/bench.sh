#!/usr/bin/env bash
# Runs the load benchmarks and the Go micro-benchmarks and writes the
# "## Load (loadgen)" and "## Micro-benchmarks" sections of docs/benchmarks.md.
#
#   scripts/bench.sh            (or: make bench)
#
# Environment: BENCH_DURATION (each measured phase, default 8s),
# BENCH_IDLE_CONNS (default 10000), BENCH_KEEP=1 keeps the work directory,
# BENCH_DOC (default docs/benchmarks.md), BENCH_COMMIT (default: git HEAD; set
# it when running from an exported tree).
# Everything runs on 127.0.0.1; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-8s}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
GO=${GO:-go}
work=$(mktemp -d "${TMPDIR:-/tmp}/frontdesk-bench.XXXXXX")
server_pid=""

cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$server_pid" 2>/dev/null || true
	fi
	if [ "${BENCH_KEEP:-}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

started=$(date +%s)
echo "== build" >&2
CGO_ENABLED=0 $GO build -o "$work/frontdesk" ./cmd/frontdesk
$GO build -o "$work/loadgen" ./cmd/loadgen

echo "== knowledge base: 5,000 generated entries" >&2
"$work/loadgen" kbgen --out "$work/kb" --entries 5000 --queries "$work/queries.txt" --query-count 2000

# 10,000 idle sockets need more than the usual 1,024 open files in the server
# (Go raises its soft limit to the hard limit itself; this makes it explicit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== start the server" >&2
"$work/frontdesk" serve --kb "$work/kb" --data-dir "$work/data" --addr 127.0.0.1:0 --debug-addr 127.0.0.1:0 \
	--ws-message-rate 0 --new-sessions-per-ip -1 --log-level info >"$work/server.log" 2>&1 &
server_pid=$!
addr="" debug=""
for _ in $(seq 1 360); do
	addr=$(sed -n 's|.*frontdesk is serving.* url=http://\([0-9.:]*\)/.*|\1|p' "$work/server.log" | head -1)
	debug=$(sed -n 's|.*debug listener.* url=http://\([0-9.:]*\)/debug/.*|\1|p' "$work/server.log" | head -1)
	[ -n "$addr" ] && [ -n "$debug" ] && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
	sleep 0.5
done
[ -n "$addr" ] || { echo "server did not start" >&2; cat "$work/server.log" >&2; exit 1; }

cmd=(loadgen run --server "http://$addr" --debug "http://$debug" --duration "$DURATION" --queries queries.txt
	--admin-password-file data/initial-admin.txt --relay-rounds 3 --idle-conns "$IDLE_CONNS" --profile-dir prof --json-out results.jsonl all)
echo "== ${cmd[*]}" >&2
(cd "$work" && ./"${cmd[@]}") | tee "$work/loadgen.out"

echo "== stop the server" >&2
kill -TERM "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""

echo "== micro-benchmarks" >&2
micro() { # package, -bench pattern, -benchtime
	$GO test -run XXX -bench "$2" -benchmem -benchtime "$3" "$1" 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true
}
{
	micro ./api/realtime/ . 20000x
	micro ./intents/ 'BenchmarkPredict$' 2000x
	micro ./knowledge/ 'BenchmarkSearch$' 1000x
	micro ./bot/ 'BenchmarkTurn' 1000x
	micro ./data/sqlstore/ 'BenchmarkAppendParallel' 2000x
} | tee "$work/micro.txt"

commit=${BENCH_COMMIT:-$(git rev-parse --short HEAD)}
dirty=0
[ -n "${BENCH_COMMIT:-}" ] || dirty=$(git status --porcelain --untracked-files=no | wc -l)
doc=${BENCH_DOC:-docs/benchmarks.md}
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
load=$(cut -d' ' -f1-3 /proc/loadavg)
took=$(( $(date +%s) - started ))
machine="$(nproc) cores ($cpu), $mem, $(uname -sr), $($GO version | cut -d' ' -f3); load average at the end $load"

{
	echo "Written by \`scripts/bench.sh\` (\`make bench\`) on $(date -u +%Y-%m-%d): commit \`$commit\`$([ "$dirty" -gt 0 ] && echo " (with $dirty uncommitted changes in the tree)"), $machine. The whole run took ${took}s."
	echo
	echo "Server: \`frontdesk serve --kb KB --data-dir DIR --addr 127.0.0.1:0 --debug-addr 127.0.0.1:0 --ws-message-rate 0\` on a 5,000-entry generated knowledge base (\`loadgen kbgen --entries 5000\`), SQLite with \`synchronous=FULL\`. Load: \`${cmd[*]}\` (same machine; the load generator shares the 2 cores with the server)."
	echo
	"$work/loadgen" report --results "$work/results.jsonl"
} | "$work/loadgen" section --file "$doc" --title "Load (loadgen)"

{
	echo "Written by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d), commit \`$commit\`, $machine. Each line is \`go test -run XXX -bench PATTERN -benchmem -benchtime N PACKAGE\` (patterns and counts in the script); \`-2\` is GOMAXPROCS."
	echo
	echo '```'
	cat "$work/micro.txt"
	echo '```'
} | "$work/loadgen" section --file "$doc" --title "Micro-benchmarks"

echo "== $doc updated (took ${took}s)" >&2
