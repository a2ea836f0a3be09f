#!/bin/bash
# The syslog input end to end: reflexd with a UDP and a TCP listener on
# free loopback ports, real util-linux `logger` as the sender (RFC 5424 and
# 3164 over UDP, TCP with LF framing and with octet counting), a raw line,
# a long line; each checked through GET /api/v1/events; then a clean stop.
. "$(dirname "$0")/lib.sh"

if ! command -v logger >/dev/null; then
	echo "FAIL: logger not installed: apt-get install bsdutils (scripts/deps.sh --test)"
	exit 1
fi
UDP=$(free_port)
TCP=$(free_port)
while [ "$TCP" = "$UDP" ] || [ "$TCP" = "$PORT" ]; do TCP=$(free_port); done
TCP2=$(free_port)
while [ "$TCP2" = "$UDP" ] || [ "$TCP2" = "$TCP" ] || [ "$TCP2" = "$PORT" ]; do TCP2=$(free_port); done
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-syslog
  data_dir: $TMP/var
  log: { level: info }
  api:
    listen: 127.0.0.1:$PORT
store: { plugin: sqlite, path: reflex.db }
inputs:
  - name: sys
    plugin: syslog
    listen: ["udp://127.0.0.1:$UDP", "tcp://127.0.0.1:$TCP"]
    max_message: 4KiB
  - name: limited
    plugin: syslog
    listen: ["tcp://127.0.0.1:$TCP2"]
    max_connections: 2
    idle_timeout: 1s
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

# wait_event Q: the first event matching text Q, polled for up to 5 s
wait_event() {
	local i r
	for i in $(seq 1 50); do
		r=$(curl -s "$URL/api/v1/events?q=$1")
		if [ "$(echo "$r" | jq '.events | length')" -gt 0 ] 2>/dev/null; then
			echo "$r" | jq -c '.events[0]'
			return 0
		fi
		sleep 0.1
	done
	echo '{}'
}

L=(logger -n 127.0.0.1)
"${L[@]}" -P "$UDP" -d --rfc5424 -t app5424 -p daemon.err --sd-id meta@1 --sd-param 'k="v"' \
	"udp-5424-msg"
"${L[@]}" -P "$UDP" -d --rfc3164 -t app3164 -p local0.warning "udp-3164-msg"
"${L[@]}" -P "$TCP" -T --rfc5424 -t apptcp -p user.crit "tcp-lf-msg"
"${L[@]}" -P "$TCP" -T --octet-count --rfc5424 -t appoct -p mail.info "tcp-octet-msg"

E=$(wait_event udp-5424-msg)
eq "udp 5424: app is the service" app5424 "$(echo "$E" | jq -r .service)"
eq "udp 5424: app is the check" app5424 "$(echo "$E" | jq -r .check)"
eq "udp 5424: severity" error "$(echo "$E" | jq -r .severity)"
eq "udp 5424: host is the sender's hostname" "$(hostname)" "$(echo "$E" | jq -r .host)"
eq "udp 5424: message" udp-5424-msg "$(echo "$E" | jq -r .message)"
eq "udp 5424: facility label" daemon "$(echo "$E" | jq -r .labels.facility)"
eq "udp 5424: structured data label" v "$(echo "$E" | jq -r '.labels["sd.meta@1.k"]')"
eq "udp 5424: rfc attr" 5424 "$(echo "$E" | jq -r .attrs.rfc)"
eq "udp 5424: kind" log "$(echo "$E" | jq -r .kind)"
eq "udp 5424: source is the instance" sys "$(echo "$E" | jq -r .source)"

E=$(wait_event udp-3164-msg)
eq "udp 3164: service" app3164 "$(echo "$E" | jq -r .service)"
eq "udp 3164: severity" warning "$(echo "$E" | jq -r .severity)"
eq "udp 3164: facility" local0 "$(echo "$E" | jq -r .labels.facility)"
eq "udp 3164: rfc attr" 3164 "$(echo "$E" | jq -r .attrs.rfc)"
check "udp 3164: host set" test -n "$(echo "$E" | jq -r '.host // empty')"

E=$(wait_event tcp-lf-msg)
eq "tcp lf: service" apptcp "$(echo "$E" | jq -r .service)"
eq "tcp lf: severity" critical "$(echo "$E" | jq -r .severity)"
contains "tcp lf: peer attr" "127.0.0.1:" "$(echo "$E" | jq -r .attrs.peer)"

E=$(wait_event tcp-octet-msg)
eq "tcp octet counting: service" appoct "$(echo "$E" | jq -r .service)"
eq "tcp octet counting: severity" info "$(echo "$E" | jq -r .severity)"
eq "tcp octet counting: message" tcp-octet-msg "$(echo "$E" | jq -r .message)"

# A raw line without PRI, over TCP: kept, host is the sender's address.
printf 'no-pri-raw-line\n' >"/dev/tcp/127.0.0.1/$TCP"
E=$(wait_event no-pri-raw-line)
eq "raw: rfc attr" raw "$(echo "$E" | jq -r .attrs.rfc)"
eq "raw: host is the peer IP" 127.0.0.1 "$(echo "$E" | jq -r .host)"
eq "raw: default severity notice" notice "$(echo "$E" | jq -r .severity)"

# Several octet-counted frames in one write, one split mid-frame.
F1='<11>1 - h1 multi - - - frame-one'
F2='<11>1 - h2 multi - - - frame-two'
{
	printf '%d %s%d %s' "${#F1}" "$F1" "${#F2}" "${F2:0:10}"
	sleep 0.3
	printf '%s' "${F2:10}"
	sleep 0.2
} >"/dev/tcp/127.0.0.1/$TCP"
eq "octet frames: first" h1 "$(wait_event frame-one | jq -r .host)"
eq "octet frames: second" h2 "$(wait_event frame-two | jq -r .host)"

# A line longer than max_message (4KiB) is cut, not lost.
LONG="longline-$(head -c 6000 /dev/zero | tr '\0' 'x')"
"${L[@]}" -P "$TCP" -T --rfc5424 -t applong -p user.notice --size 8192 "$LONG"
E=$(wait_event longline-)
eq "long line: truncated flag" true "$(echo "$E" | jq -r .attrs.truncated)"
check "long line: message cut below max_message" test "$(echo "$E" | jq -r .message | wc -c)" -le 4097
check "long line: message kept its start" test "$(echo "$E" | jq -r .message | head -c 9)" = "longline-"

r=$(curl -s "$URL/metrics")
contains "messages counter exported" 'reflex_input_syslog_messages_total{instance="sys"}' "$r"

# connection limit and idle timeout on the second listener
# closed FD: true when the server closed the connection within 3 s (EOF)
closed() { local line; read -r -t 3 -u "$1" line; [ $? -eq 1 ]; }
exec 5<>"/dev/tcp/127.0.0.1/$TCP2" 6<>"/dev/tcp/127.0.0.1/$TCP2"
sleep 0.2
exec 7<>"/dev/tcp/127.0.0.1/$TCP2"
check "a connection past max_connections is closed" closed 7
printf '<14>1 2026-11-28T03:22:45Z h app - - - within limit\n' >&5
check "the connections within the limit stay open while used" test -n "$(wait_event 'within%20limit')"
check "an idle connection is closed after idle_timeout" closed 6
exec 5>&- 6>&- 7>&-

check "reflexd stops cleanly (exit 0)" stop_reflexd
finish
