#!/bin/bash
# bench/am_bench.sh BUILDDIR - alerts per second accepted by reflex's
# alertmanager webhook input (answered 202 only once durable in SQLite)
# next to Prometheus Alertmanager's own POST /api/v2/alerts (kept in memory),
# for the same alerts in batches of 10 and 50, in the same run, on loopback.
# Drives both with bench/am_load (built from source when BUILDDIR has none).
# Prints a side-by-side table; asserts nothing.
#   BENCH_SECONDS (default 5) measured seconds per run, plus 1 s warm-up
#   BENCH_CONNS   (default 16) concurrent keep-alive connections
#   BENCH_SYNC    (default full) store.synchronous of reflexd
set -euo pipefail
B=${1:-$(pwd)}
SRC=$(cd "$(dirname "$0")/.." && pwd)
DUR=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNS:-16}
T=$(mktemp -d /tmp/reflex-ambench.XXXXXX)
RPID=""
APID=""

stop_pid() { # PID: SIGTERM, then SIGKILL after 5 s
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
trap 'stop_pid "$RPID"; stop_pid "$APID"; rm -rf "$T"' EXIT

AM_BIN=$(command -v prometheus-alertmanager || command -v alertmanager || true)
if [ -z "$AM_BIN" ]; then
	echo "am_bench: prometheus-alertmanager is not installed (apt-get install -y prometheus-alertmanager)" >&2
	exit 1
fi
LOAD="$B/bench/am_load"
if [ ! -x "$LOAD" ]; then
	LOAD="$T/am_load"
	${CC:-cc} -O2 -pthread -o "$LOAD" "$SRC/bench/am_load.c"
fi

port() { # a free loopback port
	local p
	for p in $(shuf -i 20000-32000 -n 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
RPORT=$(port)
APORT=$(port)
while [ "$APORT" = "$RPORT" ]; do APORT=$(port); done

cat >"$T/reflex.yaml" <<YAML
agent:
  name: ambench
  data_dir: $T/var
  log: { level: warning }
  api: { listen: 127.0.0.1:$RPORT, max_connections: 512 }
store: { plugin: sqlite, path: reflex.db, synchronous: ${BENCH_SYNC:-full} }
pipeline: { queue_size: 200000 }
inputs:
  - { name: am, plugin: webhook, path: /api/v1/events/webhook/alertmanager, format: alertmanager }
YAML
# Alertmanager with a receiver that sends nothing: only its ingestion counts.
cat >"$T/am.yml" <<'YAML'
route: { receiver: blackhole, group_wait: 1h, group_interval: 1h, repeat_interval: 24h }
receivers: [ { name: blackhole } ]
YAML
"$B/reflexd" -c "$T/reflex.yaml" 2>"$T/reflexd.log" &
RPID=$!
"$AM_BIN" --config.file="$T/am.yml" --storage.path="$T/am" --log.level=warn \
	--web.listen-address="127.0.0.1:$APORT" --cluster.listen-address= 2>"$T/am.log" &
APID=$!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$RPORT/healthz" >/dev/null 2>&1 &&
		curl -sf "http://127.0.0.1:$APORT/-/ready" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -sf "http://127.0.0.1:$RPORT/healthz" >/dev/null || { echo "reflexd did not start:"; cat "$T/reflexd.log"; exit 1; }
curl -sf "http://127.0.0.1:$APORT/-/ready" >/dev/null || { echo "alertmanager did not start:"; cat "$T/am.log"; exit 1; }
AMV=$("$AM_BIN" --version 2>&1 | awk 'NR == 1 { print $3 }')

run() { # LABEL SHAPE URL BATCH
	local out
	out=$("$LOAD" --url "$3" --shape "$2" -c "$CONNS" -b "$4" -d "$DUR" --warmup 1 2>&1) || true
	echo "$out" >>"$T/raw"
	echo "$out" | grep '^RESULT' | sed "s/^RESULT/RESULT target=$1/" ||
		echo "RESULT target=$1 batch=$4 failed: $(echo "$out" | tail -1)"
}
echo "== Alertmanager alerts accepted per second, ${DUR}s per run, $CONNS connections, $(nproc) cores"
: >"$T/results"
for b in 10 50; do
	run reflex webhook "http://127.0.0.1:$RPORT/api/v1/events/webhook/alertmanager" "$b" | tee -a "$T/results"
	run alertmanager amapi "http://127.0.0.1:$APORT/api/v2/alerts" "$b" | tee -a "$T/results"
done

val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
echo
echo "reflex: alertmanager webhook input, 202 once durable (SQLite synchronous=${BENCH_SYNC:-full}, $(stat -f -c %T "$T"))"
echo "alertmanager: Alertmanager $AMV POST /api/v2/alerts, kept in memory"
printf '%-6s | %10s %8s %8s | %10s %8s %8s | %6s\n' "" "reflex" "" "" "alertmanager" "" "" ""
printf '%-6s | %10s %8s %8s | %10s %8s %8s | %6s\n' batch alerts/s p50_ms p99_ms alerts/s p50_ms p99_ms ratio
for b in 10 50; do
	r=$(grep "target=reflex .*batch=$b " "$T/results" || true)
	a=$(grep "target=alertmanager .*batch=$b " "$T/results" || true)
	ra=$(val alerts_s "$r"); aa=$(val alerts_s "$a")
	printf '%-6s | %10s %8s %8s | %10s %8s %8s | %6s\n' "$b" "${ra:-failed}" "$(val p50_ms "$r")" \
		"$(val p99_ms "$r")" "${aa:-failed}" "$(val p50_ms "$a")" "$(val p99_ms "$a")" \
		"$(awk -v x="${ra:-0}" -v y="${aa:-0}" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "-" }')"
done
echo "(ratio = reflex / alertmanager; runs with non2xx or errors above 0 are in the RESULT lines)"
