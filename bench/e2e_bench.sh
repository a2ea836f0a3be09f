#!/bin/bash
# bench/e2e_bench.sh BUILDDIR - end to end: webhook intake -> every
# processing stage at its defaults (normalize, inventory, templates, noise
# with dedup folding) -> the store, with durable acknowledgement (202 only
# after COMMIT), for the postgres store against a throwaway PostgreSQL on
# this machine and for the sqlite store, in the same run.
#
# Streams:
#   mixed    bench/loadgen's own bodies: 576 hosts x 10 checks, random
#            severities, 1 in 5 resolved; its 64 bodies repeat, so part of
#            the stream is folded by dedup (the share is measured, printed);
#   distinct every event a new host/check (no folding), sent with curl;
#   repeats  50 fingerprints, all firing at one severity: everything after
#            the first 50 events is folded into their rows, sent with curl.
# Each (store, stream, batch) is run BENCH_RUNS times on a fresh data dir
# and schema; the median events/s is reported, with the store's own rate
# (events committed / time inside put_batch, from reflexd's metrics), the
# share of that time in the run (store_busy; the warm-up second counts) and
# the share of events folded into an earlier row. Not part of `make bench`:
# it takes about 5 minutes. Run it from the source tree:
#   REFLEX_PLUGIN_PATH=... bench/e2e_bench.sh /path/to/build
# Needs PostgreSQL's server (initdb, pg_ctl), psql, sqlite3, curl, jq.
set -uo pipefail
B=$(cd "${1:-.}" && pwd)
DUR=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-3}
CONNS=${BENCH_CONNS:-16}
BATCHES=${BENCH_BATCHES:-100 1000}
STORES=${BENCH_STORES:-postgres sqlite}
STREAMS=${BENCH_STREAMS:-mixed distinct repeats}
CURL_EVENTS=${BENCH_CURL_EVENTS:-200000}
PG_EXTRA=${BENCH_PG_CONF:-}

PGB=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "${PGB:-}/initdb" ] || { echo "no PostgreSQL server (initdb): apt-get install postgresql"; exit 1; }
for t in psql sqlite3 curl jq; do
	command -v $t >/dev/null || { echo "$t is needed"; exit 1; }
done
[ -x "$B/bench/loadgen" ] || { echo "no $B/bench/loadgen: make bench/loadgen first"; exit 1; }

# On disk, not tmpfs: fsync must cost what it costs.
T=$(mktemp -d /var/tmp/reflex-e2e.XXXXXX)
PID=""
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else sh -c "$*"; fi; }
finish() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	[ -f "$T/pg/data/postmaster.pid" ] && as_pg "$PGB/pg_ctl -D $T/pg/data -w -m fast stop" >/dev/null 2>&1
	rm -rf "$T"
}
trap finish EXIT
chmod 755 "$T"
mkdir -p "$T/pg"
[ "$(id -u)" = 0 ] && chown postgres "$T/pg"
PGPORT=$(shuf -i 20000-32000 -n 1)
PORT=$(shuf -i 20000-32000 -n 1)
[ "$PORT" = "$PGPORT" ] && PORT=$((PORT + 1))

# Durable (fsync, synchronous_commit and full_page_writes stay on); sized
# so that no checkpoint falls into a 10 s run and the tables fit in memory.
as_pg "$PGB/initdb -D $T/pg/data -A trust -U postgres -E UTF8 --locale=C" >"$T/initdb.log" 2>&1 ||
	{ cat "$T/initdb.log"; exit 1; }
cat >>"$T/pg/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$T/pg'
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = 512MB
max_wal_size = 8GB
min_wal_size = 1GB
checkpoint_timeout = 30min
$PG_EXTRA
CONF
as_pg "$PGB/pg_ctl -D $T/pg/data -w -l $T/pg/pg.log start" >/dev/null || { cat "$T/pg/pg.log"; exit 1; }
PSQL="psql -X -q -At -h $T/pg -p $PGPORT -U postgres"
$PSQL -d postgres -c 'create database bench' || exit 1
PSQL="$PSQL -d bench"
CONNINFO="host=${BENCH_PG_HOST:-$T/pg} port=$PGPORT dbname=bench user=postgres"
PG_SETTINGS=$($PSQL -c "select string_agg(name || '=' || setting, ' ' order by name) from pg_settings where name in ('fsync','synchronous_commit','full_page_writes','shared_buffers','max_wal_size','wal_level','checkpoint_timeout')")

URL="http://127.0.0.1:$PORT/api/v1/events/webhook"
PLUGIN_DIRS="\"$B/plugins/inputs/webhook/.libs\", \"$B/plugins/stores/postgres/.libs\", \"$B/plugins/stores/sqlite/.libs\""
N=0

# start STORE: a fresh reflexd (data dir and schema of its own)
start() {
	N=$((N + 1))
	local store
	if [ "$1" = postgres ]; then
		store="{ plugin: postgres, conninfo: \"$CONNINFO\", schema: r$N ${BENCH_PG_STORE:-} }"
	else
		store="{ plugin: sqlite, path: reflex.db, synchronous: full }"
	fi
	cat >"$T/reflex.yaml" <<YAML
agent:
  name: bench
  data_dir: $T/var$N
  log: { level: warning }
  plugin_dirs: [ $PLUGIN_DIRS ]
  api: { listen: 127.0.0.1:$PORT, max_connections: 512 }
store: $store
pipeline: { queue_size: 200000 }
inputs:
  - { name: hook, plugin: webhook }
YAML
	"$B/reflexd" -c "$T/reflex.yaml" 2>>"$T/reflexd.log" &
	PID=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0
		sleep 0.1
	done
	echo "reflexd did not start:"
	tail -20 "$T/reflexd.log"
	exit 1
}
stop() { kill -TERM "$PID"; wait "$PID"; PID=""; }
# metric NAME: the value of an unlabelled metric line
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# counts STORE: "rows folded" stored by run N
counts() {
	if [ "$1" = postgres ]; then
		$PSQL -F' ' -c "select (select count(*) from r$N.processed_events), (select count(*) from r$N.raw_events where folded_into is not null)"
	else
		sqlite3 -separator ' ' "$T/var$N/reflex.db" \
			'select (select count(*) from processed_events), (select count(*) from raw_events where folded_into is not null)'
	fi
}

# bodies STREAM BATCH TAG: request bodies for the curl-driven streams and a
# curl config with one transfer per body ($T/curl.cfg)
bodies() {
	local reqs=$((CURL_EVENTS / $2))
	rm -rf "$T/bodies"
	mkdir -p "$T/bodies"
	awk -v stream="$1" -v batch="$2" -v reqs="$reqs" -v tag="$3" -v dir="$T/bodies" 'BEGIN {
		nb = stream == "repeats" ? 1 : reqs
		for (i = 0; i < nb; i++) {
			f = dir "/" i ".json"
			printf "[" >f
			for (e = 0; e < batch; e++) {
				if (stream == "repeats") { h = "rep-" (e % 50); c = "disk" }
				else { h = "h" tag "-" i; c = "c" e }
				printf "%s{\"kind\":\"alert\",\"host\":\"%s\",\"service\":\"node\",\"check\":\"%s\",\"severity\":\"warning\",\"value\":%d,\"message\":\"disk /var %d%% full on %s\",\"labels\":{\"env\":\"prod\",\"team\":\"sre\",\"region\":\"eu-west-1\"},\"attrs\":{\"generator\":\"e2e_bench\",\"seq\":%d}}", e ? "," : "", h, c, 80 + e % 20, 80 + e % 20, h, i * batch + e >f
			}
			printf "]" >f
			close(f)
		}
	}'
	: >"$T/curl.cfg"
	for i in $(seq 0 $((reqs - 1))); do
		[ "$1" = repeats ] && f=0 || f=$i
		printf 'url = "%s"\nheader = "Content-Type: application/json"\ndata-binary = "@%s/bodies/%s.json"\noutput = "/dev/null"\nwrite-out = "%%{http_code} %%{time_total}\\n"\nnext\n' \
			"$URL" "$T" "$f" >>"$T/curl.cfg"
	done
}

# drive STREAM BATCH: load; prints "events_s p50_ms p99_ms non2xx elapsed_s"
drive() {
	local t0 t1 out
	if [ "$1" = mixed ]; then
		out=$("$B/bench/loadgen" --url "$URL" -c "$CONNS" -b "$2" -d "$DUR" --warmup 1 2>&1 |
			tee -a "$T/loadgen.log" | grep '^RESULT')
		echo "$out" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "%d %s %s %d %s\n", v["events_s"], v["p50_ms"], v["p99_ms"], v["non2xx"] + v["errors"], "'"$DUR"'" + 1 }'
		return
	fi
	t0=$(date +%s.%N)
	curl -s -Z --parallel-max "$CONNS" -K "$T/curl.cfg" >"$T/curl.out" 2>>"$T/curl.err"
	t1=$(date +%s.%N)
	sort -k2,2g "$T/curl.out" | awk -v b="$2" -v t0="$t0" -v t1="$t1" '
		{ n++; if ($1 == 202) ok++; else bad++; lat[n] = $2 * 1000 }
		END { el = t1 - t0
			printf "%d %.1f %.1f %d %.2f\n", ok * b / el, lat[int(n * 0.5) + 1], lat[int(n * 0.99) + 1], bad + 0, el }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "== end to end: webhook -> all stages (defaults) -> store, durable ack"
echo "   $(nproc) cores, ${CONNS} connections, loadgen ${DUR}s per run (+1 s warm-up), curl streams ${CURL_EVENTS} events, median of ${RUNS}"
echo "   PostgreSQL $($PSQL -c 'show server_version'): $PG_SETTINGS, over ${BENCH_PG_HOST:+TCP }${BENCH_PG_HOST:-its unix socket}"
echo "   SQLite: synchronous=full; data on $(df --output=fstype "$T" | tail -1)"
for stream in $STREAMS; do
	for batch in $BATCHES; do
		for store in $STORES; do
			: >"$T/runs"
			for r in $(seq 1 "$RUNS"); do
				[ "$stream" != mixed ] && bodies "$stream" "$batch" "$N$r"
				load=$(cut -d' ' -f1 /proc/loadavg)
				start "$store"
				s0=$(metric reflex_events_stored_total)
				c0=$(metric reflex_store_batch_seconds_count)
				b0=$(metric reflex_store_batch_seconds_sum)
				res=$(drive "$stream" "$batch")
				s1=$(metric reflex_events_stored_total)
				c1=$(metric reflex_store_batch_seconds_count)
				b1=$(metric reflex_store_batch_seconds_sum)
				read -r rows folded <<<"$(counts "$store")"
				stop
				read -r evs p50 p99 bad el <<<"$res"
				line=$(awk -v s="$((${s1%.*} - ${s0%.*}))" -v c="$((${c1%.*} - ${c0%.*}))" \
					-v b="$(awk -v a="$b1" -v z="$b0" 'BEGIN { print a - z }')" -v el="$el" \
					-v rows="$rows" -v folded="$folded" 'BEGIN {
					printf "store_rate=%d store_busy=%.0f%% store_batch=%d folded=%.0f%%",
						(b > 0 ? s / b : 0), 100 * b / el, (c > 0 ? s / c : 0),
						(rows + folded > 0 ? 100 * folded / (rows + folded) : 0) }')
				echo "$evs $p50 $p99 $bad $line load=$load" >>"$T/runs"
				echo "RUN store=$store stream=$stream batch=$batch run=$r events_s=$evs p50_ms=$p50 p99_ms=$p99 failed=$bad $line load1=$load"
			done
			med=$(cut -d' ' -f1 "$T/runs" | median)
			m=$(awk -v m="$med" '$1 == m { print; exit }' "$T/runs")
			echo "RESULT store=$store stream=$stream batch=$batch events_s=$med (runs: $(cut -d' ' -f1 "$T/runs" | tr '\n' ' ' | sed 's/ $//')) median run: p50_ms=$(echo "$m" | cut -d' ' -f2) p99_ms=$(echo "$m" | cut -d' ' -f3) $(echo "$m" | cut -d' ' -f5-)"
		done
	done
done
