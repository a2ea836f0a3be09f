#!/bin/bash
# TCP syslog against a pipeline that cannot keep up: an ingress queue of 64
# events and a block timeout of 50 ms, so the queue is full most of the
# time. The input must stop reading (the kernel's socket buffers fill and
# the sender waits) instead of dropping: every line sent over TCP is
# stored, none is counted as dropped. Also an IPv6 loopback listener, when
# this machine has ::1.
. "$(dirname "$0")/lib.sh"

TCP=$(free_port)
while [ "$TCP" = "$PORT" ]; do TCP=$(free_port); done
LISTEN="\"tcp://127.0.0.1:$TCP\""
HAVE_V6=0
if ip -6 addr show lo 2>/dev/null | grep -q '::1/128'; then
	HAVE_V6=1
	LISTEN="$LISTEN, \"tcp://[::1]:$TCP\", \"udp://[::1]:$TCP\""
fi
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-syslog-bp
  data_dir: $TMP/var
  api:
    listen: 127.0.0.1:$PORT
store: { plugin: sqlite, path: reflex.db }
# transport is under test: every line must be a row, no dedup
pipeline:
  noise: { enabled: false }
  queue_size: 64
  block_timeout: 50ms
  batch_size: 16
inputs:
  - name: bp
    plugin: syslog
    listen: [$LISTEN]
    rcvbuf: 64KiB
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

stored() { curl -s "$URL/healthz" | jq -r .events; }
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 ~ "^"m"[{]" { print $2 }'; }

# Twice what the socket buffers between sender and reader can hold (the
# send buffer's autotuning maximum plus the 64 KiB receive buffer, which
# the kernel doubles, at >= 45 bytes a line): a reader that kept reading
# into memory would let the sender finish at once with few lines stored;
# one that stops reading holds the sender until all but what the buffers
# hold is stored.
WMAX=$(awk '{ print $3 }' /proc/sys/net/ipv4/tcp_wmem 2>/dev/null || echo 4194304)
BUFFERED_MAX=$(( (WMAX + 2 * 131072) / 45 + 2000 ))
N=$((2 * BUFFERED_MAX))
base=$(stored)
start=$(date +%s%N)
# One connection, written as fast as the socket takes it.
seq 1 $N | sed 's/^/<14>1 2026-11-28T03:22:45Z h bp - - - line /' >"/dev/tcp/127.0.0.1/$TCP"
sent_ms=$(( ($(date +%s%N) - start) / 1000000 ))
at_end=$(( $(stored) - base ))
echo "info: the sender took ${sent_ms} ms for $N lines; $at_end were stored when it finished"
check "the sender was held back until at most $BUFFERED_MAX lines were left in buffers" \
	test "$at_end" -ge $((N - BUFFERED_MAX))
for _ in $(seq 1 300); do
	[ "$(stored)" -ge $((base + N)) ] && break
	sleep 0.1
done
eq "all $N lines sent over TCP are stored" $((base + N)) "$(stored)"
eq "nothing counted as dropped" 0 "$(metric reflex_input_syslog_dropped_total)"
r=$(curl -s "$URL/api/v1/events?q=line%20$N&limit=1")
eq "the last line is there" "line $N" "$(echo "$r" | jq -r '.events[0].message')"

if [ $HAVE_V6 = 1 ]; then
	logger -n ::1 -P "$TCP" -T --rfc5424 -t v6tcp "over-ipv6-tcp"
	logger -n ::1 -P "$TCP" -d --rfc5424 -t v6udp "over-ipv6-udp"
	for _ in $(seq 1 50); do
		n=$(curl -s "$URL/api/v1/events?q=over-ipv6&limit=10" | jq '.events | length')
		[ "$n" = 2 ] && break
		sleep 0.1
	done
	eq "IPv6 listeners: TCP and UDP lines stored" 2 "$n"
else
	echo "info: no ::1 on this machine; IPv6 listeners not exercised"
fi

check "reflexd stops cleanly (exit 0)" stop_reflexd
finish
