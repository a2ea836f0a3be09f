#!/bin/bash
# bench/syslog_bench.sh BUILDDIR - syslog messages per second and loss of
# reflex's syslog input (every message committed to SQLite) next to rsyslogd
# (parsed JSON into a file), in the same run, on loopback. The same loggen
# stream (RFC 5424, 300-byte messages) goes to each in turn: TCP at the
# highest rate loggen reaches, then UDP at a few offered rates. A message
# counts when it is in processed_events or folded into a row there (reflex) or a line of rsyslog's
# output file; the clock stops at the last increase of that count. Prints a
# side-by-side table and RESULT lines; asserts nothing.
#   BENCH_TCP_N       (default 500000) TCP messages per run
#   BENCH_UDP_RATES   (default "25000 50000 100000 150000") offered msg/s
#   BENCH_UDP_SECONDS (default 5) seconds of UDP traffic per run
#   BENCH_SYNC        (default full) store.synchronous of reflexd
#   BENCH_RCVBUF      (default 4MiB) UDP receive buffer, both receivers
#   LOGGEN            loggen binary; else PATH, else syslog-ng-core is
#                     fetched with apt-get download into BENCH_CACHE
#                     (default /tmp/reflex-bench-loggen) and run from there
set -euo pipefail
B=${1:-$(pwd)}
TCP_N=${BENCH_TCP_N:-500000}
UDP_RATES=${BENCH_UDP_RATES:-"25000 50000 100000 150000"}
UDP_SECS=${BENCH_UDP_SECONDS:-5}
SYNC=${BENCH_SYNC:-full}
RCVBUF=${BENCH_RCVBUF:-4194304}
CACHE=${BENCH_CACHE:-/tmp/reflex-bench-loggen}
SETTLE=3       # seconds without growth that mean "everything has arrived"
MAXWAIT=120    # never wait longer than this for a count to settle
T=$(mktemp -d /tmp/reflex-syslogbench.XXXXXX)
RPID=""
SPID=""
LPID=""

stop_pid() { # PID: SIGTERM, then SIGKILL after 5 s
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
trap 'stop_pid "$LPID"; stop_pid "$RPID"; stop_pid "$SPID"; rm -rf "$T"' EXIT

RSYSLOGD=$(command -v rsyslogd || true)
if [ -z "$RSYSLOGD" ]; then
	echo "syslog_bench: rsyslogd is not installed (apt-get install -y rsyslog)" >&2
	exit 1
fi
command -v sqlite3 >/dev/null || { echo "syslog_bench: sqlite3 is not installed" >&2; exit 1; }

# loggen ships in syslog-ng-core, which conflicts with rsyslog: unpack it
# beside the system instead of installing it.
LG_ENV=()
if [ -n "${LOGGEN:-}" ]; then
	:
elif command -v loggen >/dev/null; then
	LOGGEN=$(command -v loggen)
else
	if [ ! -x "$CACHE/root/usr/bin/loggen" ]; then
		mkdir -p "$CACHE"
		(cd "$CACHE" && apt-get download syslog-ng-core >/dev/null 2>&1 &&
			dpkg -x syslog-ng-core_*.deb root) || {
			echo "syslog_bench: no loggen (apt-get download syslog-ng-core failed)" >&2
			exit 1
		}
	fi
	LOGGEN=$CACHE/root/usr/bin/loggen
	LG_ENV=(env "SYSLOGNG_PREFIX=$CACHE/root/usr"
		"LD_LIBRARY_PATH=$CACHE/root/usr/lib/x86_64-linux-gnu:$CACHE/root/usr/lib/syslog-ng")
fi

port() { # a free loopback port, TCP and UDP
	local p
	for p in $(shuf -i 20000-32000 -n 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		grep -qi ":$(printf '%04X' "$p") " /proc/net/udp && continue
		echo "$p"
		return 0
	done
	return 1
}
API=$(port)
RP=$(port); while [ "$RP" = "$API" ]; do RP=$(port); done
SP=$(port); while [ "$SP" = "$API" ] || [ "$SP" = "$RP" ]; do SP=$(port); done

cat >"$T/reflex.yaml" <<YAML
agent:
  name: syslogbench
  data_dir: $T/var
  log: { level: warning }
  api: { listen: 127.0.0.1:$API }
store: { plugin: sqlite, path: reflex.db, synchronous: $SYNC }
pipeline: { queue_size: 200000 }
inputs:
  - name: syslog
    plugin: syslog
    listen: ["udp://127.0.0.1:$RP", "tcp://127.0.0.1:$RP"]
    rcvbuf: $RCVBUF
YAML
# rsyslog: the fields reflex keeps, as one JSON object per line; a
# fixedArray queue decouples the inputs from the asynchronous file writer.
mkdir -p "$T/rs"
cat >"$T/rs.conf" <<RS
global(workDirectory="$T/rs" maxMessageSize="64k")
module(load="imtcp" maxSessions="256")
module(load="imudp")
template(name="j" type="list" option.jsonf="on") {
	property(outname="time" name="timereported" dateFormat="rfc3339" format="jsonf")
	property(outname="host" name="hostname" format="jsonf")
	property(outname="app" name="app-name" format="jsonf")
	property(outname="procid" name="procid" format="jsonf")
	property(outname="msgid" name="msgid" format="jsonf")
	property(outname="facility" name="syslogfacility-text" format="jsonf")
	property(outname="severity" name="syslogseverity-text" format="jsonf")
	property(outname="sd" name="structured-data" format="jsonf")
	property(outname="message" name="msg" format="jsonf")
	property(outname="peer" name="fromhost-ip" format="jsonf")
}
ruleset(name="r" queue.type="fixedArray" queue.size="200000" queue.dequeueBatchSize="1024") {
	action(type="omfile" file="$T/rs.json" template="j" asyncWriting="on"
		ioBufferSize="256k" flushInterval="1" flushOnTXEnd="off")
}
input(type="imtcp" address="127.0.0.1" port="$SP" ruleset="r")
input(type="imudp" address="127.0.0.1" port="$SP" ruleset="r" rcvbufSize="$RCVBUF")
RS
: >"$T/rs.json"

"$B/reflexd" -c "$T/reflex.yaml" 2>"$T/reflexd.log" &
RPID=$!
"$RSYSLOGD" -n -f "$T/rs.conf" -i "$T/rs.pid" 2>"$T/rsyslogd.log" &
SPID=$!
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 100); do up "$RP" && up "$SP" && break; sleep 0.1; done
up "$RP" || { echo "reflexd did not start:"; cat "$T/reflexd.log"; exit 1; }
up "$SP" || { echo "rsyslogd did not start:"; cat "$T/rsyslogd.log"; exit 1; }
DB=$T/var/reflex.db
for _ in $(seq 50); do [ -f "$DB" ] && break; sleep 0.1; done

count() { # TARGET -> messages arrived so far
	case $1 in
	# a repeat the noise stage folded into its record is a raw row naming it
	reflex) sqlite3 -cmd '.timeout 5000' "$DB" 'SELECT (SELECT count(*) FROM processed_events) + (SELECT count(*) FROM raw_events WHERE folded_into IS NOT NULL)' 2>/dev/null || echo -1 ;;
	rsyslog) wc -l <"$T/rs.json" ;;
	esac
}
udp_rcvbuf_errors() {
	awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 }
		else print $c }' /proc/net/snmp
}
now() { date +%s.%N; }

# run TARGET PROTO RATE N: one loggen stream, then wait for the count to
# settle. Prints a RESULT line.
run() {
	local tgt=$1 proto=$2 rate=$3 n=$4 p flags c0 e0 t0 c last tlast stable waited out
	[ "$tgt" = reflex ] && p=$RP || p=$SP
	# loggen's -n and -r count per connection: two TCP connections share N.
	if [ "$proto" = tcp ]; then flags=(-S --active-connections=2); n=$((n / 2)); else flags=(-D); fi
	c0=$(count "$tgt"); e0=$(udp_rcvbuf_errors); t0=$(now)
	# -I: loggen stops after 10 s by default, before N at a low rate.
	"${LG_ENV[@]}" "$LOGGEN" -i "${flags[@]}" -P -r "$rate" -n "$n" -s 300 -I "$MAXWAIT" 127.0.0.1 "$p" \
		>"$T/loggen.out" 2>&1 &
	LPID=$!
	last=$c0; tlast=$t0; stable=0; waited=0
	while :; do
		sleep 0.2
		c=$(count "$tgt")
		if [ "$c" != "$last" ]; then
			last=$c; tlast=$(now); stable=0
		elif ! kill -0 "$LPID" 2>/dev/null; then
			stable=$((stable + 1))
		fi
		[ "$stable" -ge $((SETTLE * 5)) ] && break
		waited=$((waited + 1))
		[ "$waited" -ge $((MAXWAIT * 5)) ] && break
	done
	stop_pid "$LPID"
	LPID=""
	out=$(tr '\r' '\n' <"$T/loggen.out" | grep 'average rate' | tail -1)
	# loggen: "average rate = R msg/sec, count=N, time=S, ..."
	local sent lrate
	sent=$(sed -n 's/.*count=\([0-9]*\).*/\1/p' <<<"$out")
	lrate=$(sed -n 's/.*average rate = \([0-9.]*\).*/\1/p' <<<"$out")
	awk -v tgt="$tgt" -v proto="$proto" -v rate="$rate" -v n="$n" -v sent="${sent:-0}" \
		-v lrate="${lrate:-0}" -v got=$((last - c0)) -v t0="$t0" -v t1="$tlast" \
		-v rbe=$(($(udp_rcvbuf_errors) - e0)) 'BEGIN {
		el = t1 - t0; if (el <= 0) el = 1e-9
		loss = sent > 0 ? 100 * (sent - got) / sent : 0
		printf "RESULT target=%s proto=%s offered=%s sent=%d send_rate=%.0f received=%d elapsed_s=%.2f msgs_s=%.0f loss_pct=%.2f rcvbuf_errors=%d\n",
			tgt, proto, rate == 10000000 ? "max" : rate, sent, lrate, got, el, got / el, loss, rbe }'
}

echo "== syslog RFC 5424, 300-byte messages, loggen -> reflex (SQLite synchronous=$SYNC) / rsyslogd, $(nproc) cores"
: >"$T/results"
for tgt in reflex rsyslog; do
	run "$tgt" tcp 10000000 "$TCP_N" | tee -a "$T/results"
done
for r in $UDP_RATES; do
	for tgt in reflex rsyslog; do
		run "$tgt" udp "$r" $((r * UDP_SECS)) | tee -a "$T/results"
	done
done
# reflex's own UDP drops (pipeline full), from its metrics when readable.
RDROP=$(curl -sf "http://127.0.0.1:$API/metrics" 2>/dev/null |
	awk '/^reflex_input_syslog_dropped_total/ { s += $NF } END { print s + 0 }' || echo "?")

val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
RSV=$("$RSYSLOGD" -v 2>&1 | awk 'NR == 1 { print $2 }')
echo
echo "reflex: syslog input -> pipeline -> SQLite processed_events (synchronous=$SYNC, $(stat -f -c %T "$T"))"
echo "rsyslog: rsyslogd $RSV imtcp/imudp -> fixedArray queue -> omfile JSON (asyncWriting)"
echo "UDP rcvbuf $RCVBUF bytes on both; reflex pipeline drops over the whole run: ${RDROP:-?}"
printf '%-10s | %9s %9s %7s %7s | %9s %9s %7s %7s\n' "" "reflex" "" "" "" "rsyslog" "" "" ""
printf '%-10s | %9s %9s %7s %7s | %9s %9s %7s %7s\n' stream sent/s msgs/s loss% rcvErr sent/s msgs/s loss% rcvErr
while read -r proto rate; do
	r=$(grep "target=reflex proto=$proto offered=$rate " "$T/results" || true)
	s=$(grep "target=rsyslog proto=$proto offered=$rate " "$T/results" || true)
	printf '%-10s | %9s %9s %7s %7s | %9s %9s %7s %7s\n' "$proto@$rate" "$(val send_rate "$r")" \
		"$(val msgs_s "$r")" "$(val loss_pct "$r")" "$(val rcvbuf_errors "$r")" "$(val send_rate "$s")" \
		"$(val msgs_s "$s")" "$(val loss_pct "$s")" "$(val rcvbuf_errors "$s")"
done < <(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	k = v["proto"] " " v["offered"]; if (!(k in seen)) { seen[k] = 1; print k } }' "$T/results")
echo "(sent/s = loggen's own send rate, which falls short of the offered rate when it runs out of CPU; msgs/s = received / time to the last arrival;"
echo " loss = (sent - received) / sent; rcvErr = /proc/net/snmp Udp RcvbufErrors delta, system-wide)"
