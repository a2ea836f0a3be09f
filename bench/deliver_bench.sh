#!/bin/bash
# bench/deliver_bench.sh BUILDDIR - how fast reflex delivers, and what a
# backlog costs in memory. Not part of `make bench` (see bench/README.md).
#
# 1. Rate: for the `webhook` output and the `slack` output (incoming-webhook
#    mode, webhook_url pointing at the sink), BENCH_RUNS runs each on a fresh
#    data dir: reflexd with a webhook input, the noise stage off (so every
#    event is one delivery) and that one output pointing at bench/sink (a
#    libmicrohttpd receiver answering 200 "ok" at once, counting requests);
#    bench/loadgen posts BENCH_EVENTS events in batches of 100; the rate is
#    what the sink received: (count - 1) / (time of the last - time of the
#    first request). Median (min-max) of the runs.
# 2. Memory: the webhook output with the sink down; BENCH_PENDING events
#    are posted; RSS of reflexd (/proc/PID/status VmRSS, VmHWM = peak) before,
#    once BENCH_PENDING deliveries are pending in the outbox, and after the
#    sink came back and took them all (with the rate of that drain).
# Prints RESULT lines and a table; asserts nothing.
set -euo pipefail
B=$(cd "${1:-$(pwd)}" && pwd)
EVENTS=${BENCH_EVENTS:-50000}
RUNS=${BENCH_RUNS:-3}
PENDING=${BENCH_PENDING:-100000}
SYNC=${BENCH_SYNC:-full}
SINK=${SINK:-$B/bench/sink}
LOADGEN=${LOADGEN:-$B/bench/loadgen}
: "${REFLEX_PLUGIN_PATH:=$B/plugins/inputs/webhook/.libs:$B/plugins/stores/sqlite/.libs:$B/plugins/outputs/webhook/.libs:$B/plugins/outputs/slack/.libs}"
export REFLEX_PLUGIN_PATH
for x in "$B/reflexd" "$SINK" "$LOADGEN"; do
	[ -x "$x" ] || { echo "deliver_bench: $x is missing (make bench/sink bench/loadgen)" >&2; exit 2; }
done
T=$(mktemp -d /tmp/reflex-dbench.XXXXXX)
PID="" SPID=""
stop_pid() { [ -n "$1" ] && kill -TERM "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
trap 'stop_pid "$SPID"; [ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT

port() { # a free loopback port below the ephemeral range
	local p
	for p in $(shuf -i 20000-32000 -n 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
now() { date +%s.%N; }
# sink_start PORT: starts the sink, sets SPID
sink_start() {
	rm -f "$T/sink.port"
	"$SINK" --port "$1" --port-file "$T/sink.port" --threads 16 --delay "${BENCH_DELAY_MS:-0}" >>"$T/sink.log" 2>&1 &
	SPID=$!
	for _ in $(seq 100); do [ -s "$T/sink.port" ] && return 0; sleep 0.05; done
	echo "sink did not start" >&2; cat "$T/sink.log" >&2; return 1
}
stats() { curl -sf "http://127.0.0.1:$SPORT/_stats"; }
# reflexd_start OUTPUT-YAML: fresh data dir, sets PID, API_PORT
reflexd_start() {
	rm -rf "$T/var"
	API_PORT=$(port)
	cat >"$T/reflex.yaml" <<YAML
agent:
  name: dbench
  data_dir: $T/var
  log: { level: warning }
  api: { listen: 127.0.0.1:$API_PORT, max_connections: 512 }
store: { plugin: sqlite, path: reflex.db, synchronous: $SYNC }
pipeline: { queue_size: 200000, noise: { enabled: false } }
inputs:
  - { name: hook, plugin: webhook }
outputs:
$1
YAML
	"$B/reflexd" -c "$T/reflex.yaml" 2>>"$T/reflexd.log" &
	PID=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$API_PORT/healthz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "reflexd did not start" >&2; tail -20 "$T/reflexd.log" >&2; return 1
}
reflexd_stop() { stop_pid "$PID"; PID=""; }
post_events() { # N: posts N events in requests of 100 (N a multiple of 100)
	"$LOADGEN" --url "http://127.0.0.1:$API_PORT/api/v1/events/webhook" -c 8 -b 100 \
		-n $(($1 / 100)) >"$T/loadgen.out" 2>&1 || { cat "$T/loadgen.out" >&2; return 1; }
	grep -q 'non2xx=0 errors=0' "$T/loadgen.out" || { grep RESULT "$T/loadgen.out" >&2; return 1; }
}
# wait_count N MAX-IDLE-S: polls the sink until it counted N (or nothing came for MAX-IDLE-S)
wait_count() {
	local last=-1 idle=0 c
	while :; do
		c=$(stats | jq .count)
		[ "$c" -ge "$1" ] && return 0
		if [ "$c" = "$last" ]; then idle=$((idle + 1)); else idle=0; last=$c; fi
		[ "$idle" -ge $(($2 * 5)) ] && { echo "sink stalled at $c of $1" >&2; return 1; }
		sleep 0.2
	done
}
rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; } # PID VmRSS|VmHWM, kB
metric() { # NAME: the value of a metric line (summed over series)
	curl -sf "http://127.0.0.1:$API_PORT/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" { s += $2 } END { printf "%d", s }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%d %d %d\n", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

SPORT=$(port)
sink_start "$SPORT"
echo "== delivery rate: $EVENTS events in batches of 100 per run, $RUNS runs, synchronous=$SYNC, $(nproc) cores"
for out in ${BENCH_OUTPUTS:-webhook webhook4 slack}; do
	case $out in
	webhook) conf="  - { name: out, plugin: webhook, url: \"http://127.0.0.1:$SPORT/hook\" }" ;;
	webhook4) conf="  - { name: out, plugin: webhook, url: \"http://127.0.0.1:$SPORT/hook\", delivery: { concurrency: 4 } }" ;;
	slack) conf="  - { name: out, plugin: slack, webhook_url: \"http://127.0.0.1:$SPORT/services/T0/B0/X\", thread: false }" ;;
	esac
	: >"$T/rates.$out"
	for run in $(seq "$RUNS"); do
		curl -sf -XPOST "http://127.0.0.1:$SPORT/_reset" >/dev/null
		reflexd_start "$conf"
		t0=$(now)
		post_events "$EVENTS"
		t1=$(now)
		wait_count "$EVENTS" 15 || true
		s=$(stats)
		read -r c f l conns < <(jq -r '"\(.count) \(.first) \(.last) \(.conns)"' <<<"$s")
		rate=$(awk -v c="$c" -v f="$f" -v l="$l" 'BEGIN { printf "%d", (l > f ? (c - 1) / (l - f) : 0) }')
		ingest=$(awk -v n="$EVENTS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", n / (b - a) }')
		echo "RESULT output=$out run=$run events=$EVENTS delivered=$c deliveries_s=$rate ingest_events_s=$ingest first_delivery_after_s=$(awk -v a="$t0" -v f="$f" 'BEGIN { printf "%.2f", f - a }') connections=$conns rss_kb=$(rss "$PID" VmRSS) peak_rss_kb=$(rss "$PID" VmHWM)"
		echo "$rate" >>"$T/rates.$out"
		reflexd_stop
	done
done
read -r wmed wmin wmax < <(median <"$T/rates.webhook")
read -r smed smin smax < <(median <"$T/rates.slack")

echo "== memory: $PENDING deliveries queued for the webhook output with the sink down"
# mem PID: "rss anon file" in kB (anon: heap; file: mostly the store's mmap)
mem() { awk '$1 == "VmRSS:" { r = $2 } $1 == "RssAnon:" { a = $2 } $1 == "RssFile:" { f = $2 } END { print r, a, f }' "/proc/$1/status"; }
# the control: the same events with no output, so ingestion's own footprint shows
STEP=$((PENDING / 5))
# steps: posts PENDING events in 5 steps, printing the anon RSS after each
steps() {
	local i out=""
	for i in 1 2 3 4 5; do
		post_events "$STEP"
		sleep 1
		out="$out $(mem "$PID" | awk '{ print $2 }')"
	done
	echo "${out# }"
}
reflexd_start "  []"
read -r c_r0 _ _ < <(mem "$PID")
c_steps=$(steps)
sleep 1
read -r c_r c_a c_f < <(mem "$PID")
c_h=$(rss "$PID" VmHWM)
echo "RESULT phase=control_no_output events=$PENDING rss_kb=$c_r anon_kb=$c_a file_kb=$c_f peak_rss_kb=$c_h (before: rss_kb=$c_r0) anon_kb_per_${STEP}=[$c_steps]"
reflexd_stop
stop_pid "$SPID"; SPID=""
reflexd_start "  - name: out
    plugin: webhook
    url: \"http://127.0.0.1:$SPORT/hook\"
    delivery: { max_attempts: 1000, initial_backoff: 1s, max_backoff: 2s, breaker_cooldown: 500ms, max_age: 0s }"
sleep 1
read -r r0 a0 f0 < <(mem "$PID")
echo "RESULT phase=before rss_kb=$r0 anon_kb=$a0 file_kb=$f0"
p_steps=$(steps)
n=0
for _ in $(seq 600); do # the outbox holds every delivery (read-only look at the store)
	n=$(sqlite3 "file:$T/var/reflex.db?mode=ro" "SELECT count(*) FROM outbox WHERE output='out' AND state=0" 2>/dev/null || echo 0)
	[ "$n" -ge "$PENDING" ] && break
	sleep 0.5
done
sleep 2
read -r r1 a1 f1 < <(mem "$PID")
h1=$(rss "$PID" VmHWM) pend1=$(metric reflex_output_pending)
echo "RESULT phase=pending outbox=$n pending_metric=$pend1 rss_kb=$r1 anon_kb=$a1 file_kb=$f1 peak_rss_kb=$h1 anon_kb_per_${STEP}=[$p_steps]"
sink_start "$SPORT"
wait_count "$PENDING" 30 || true
s=$(stats)
read -r c f l < <(jq -r '"\(.count) \(.first) \(.last)"' <<<"$s")
drain=$(awk -v c="$c" -v f="$f" -v l="$l" 'BEGIN { printf "%d", (l > f ? (c - 1) / (l - f) : 0) }')
sleep 2
read -r r2 a2 f2 < <(mem "$PID")
h2=$(rss "$PID" VmHWM)
left=$(sqlite3 "file:$T/var/reflex.db?mode=ro" "SELECT count(*) FROM outbox WHERE output='out'" 2>/dev/null || echo '?')
echo "RESULT phase=after delivered=$c drain_deliveries_s=$drain outbox_left=$left rss_kb=$r2 anon_kb=$a2 file_kb=$f2 peak_rss_kb=$h2"
reflexd_stop

echo
echo "| output | deliveries/s median (min-max), $RUNS runs of $EVENTS |"
echo "| --- | --- |"
echo "| webhook | $wmed ($wmin-$wmax) |"
echo "| slack (incoming webhook) | $smed ($smin-$smax) |"
echo
echo "| reflexd, kB | RSS | anon | file (store mmap) | peak RSS |"
echo "| --- | --- | --- | --- | --- |"
echo "| before | $r0 | $a0 | $f0 | |"
echo "| $PENDING pending, sink down | $r1 | $a1 | $f1 | $h1 |"
echo "| after the sink took $c ($drain/s) | $r2 | $a2 | $f2 | $h2 |"
echo "| control: $PENDING events, no output | $c_r | $c_a | $c_f | $c_h |"
echo
echo "anon kB after each $STEP events: sink down [$p_steps], no output [$c_steps]"
