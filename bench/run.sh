#!/bin/bash
# bench/run.sh BUILDDIR - the benchmarks behind `make bench`. Starts reflexd
# on a temporary data dir (SQLite store, synchronous=full, durable
# acknowledgement) and measures the webhook path with bench/loadgen, then
# the store's batch insert rate and expression evaluation. Prints what it
# measured; asserts nothing.
set -euo pipefail
B=${1:-$(pwd)}
DUR=${BENCH_SECONDS:-10}
T=$(mktemp -d /tmp/reflex-bench.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
PORT=$(shuf -i 20000-32000 -n 1)
cat >"$T/reflex.yaml" <<YAML
agent:
  name: bench
  data_dir: $T/var
  log: { level: warning }
  api: { listen: 127.0.0.1:$PORT, max_connections: 512 }
store: { plugin: sqlite, path: reflex.db, synchronous: ${BENCH_SYNC:-full} }
pipeline: { queue_size: 200000 }
inputs:
  - { name: hook, plugin: webhook }
YAML
"$B/reflexd" -c "$T/reflex.yaml" 2>"$T/reflexd.log" &
PID=$!
for i in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
U="http://127.0.0.1:$PORT/api/v1/events/webhook"
echo "== webhook -> SQLite (synchronous=${BENCH_SYNC:-full}), durable ack, ${DUR}s per run, $(nproc) cores"
run() { { "$B/bench/loadgen" --url "$U" -d "$DUR" --warmup 1 "$@" || echo "loadgen failed ($?)"; } | tee -a "$T/results" | grep -E '^RESULT|failed' || true; }
run -c 16 -b 1
run -c 64 -b 100
best=$(grep 'batch=100' "$T/results" | sed 's/.*req_s=\([0-9.]*\).*/\1/' | tail -1)
half=$(awk -v r="$best" 'BEGIN { printf "%d", r / 2 }')
echo "== latency at half the batch-100 peak: $half req/s"
run -c 64 -b 100 -r "$half"
kill -TERM $PID; wait $PID || true; PID=""
echo "== store batch insert (bench/store_bench)"
"$B/bench/store_bench" || true
echo "== expression evaluation (bench/expr_bench)"
"$B/bench/expr_bench" 200000 || true
