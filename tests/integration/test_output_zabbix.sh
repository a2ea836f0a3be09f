#!/bin/bash
# The zabbix output inside a running reflexd, against
# tests/receivers/zabbix_trapper.py, the server side of the Zabbix sender
# protocol checking the framing to the byte (ZBXD, 0x01, 4-byte LE length
# + 4 reserved zero bytes, JSON "sender data"): values reach known trapper
# items with the event's clock/ns; "failed: 1" (unknown item) and a
# "failed" response are dead letters with the server's info; no
# connection, a closed connection and a slow answer are retried.
. "$(dirname "$0")/lib.sh"
ZBX_PID=""
stop_trapper() { [ -n "$ZBX_PID" ] && kill "$ZBX_PID" 2>/dev/null && wait "$ZBX_PID" 2>/dev/null; ZBX_PID=""; }
trap 'stop_trapper; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/outputs/zabbix/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"

ZLOG=$TMP/zabbix.jsonl
ZSCRIPT=$TMP/zabbix.script
: >"$ZLOG"
: >"$ZSCRIPT"
start_trapper() { # [--port N]
	rm -f "$TMP/zbx.port"
	/usr/bin/python3 "$SRCDIR/tests/receivers/zabbix_trapper.py" "$@" --log "$ZLOG" \
		--port-file "$TMP/zbx.port" --script "$ZSCRIPT" \
		--items "db1:reflex.event,db1:reflex.severity,web1:reflex.event,db2:reflex.event" \
		>>"$TMP/zbx.stderr" 2>&1 &
	ZBX_PID=$!
	for i in $(seq 1 100); do [ -s "$TMP/zbx.port" ] && break; sleep 0.05; done
	ZBX_PORT=$(cat "$TMP/zbx.port")
}
start_trapper

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
pipeline: { noise: { enabled: false } }
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - name: zbx
    plugin: zabbix
    server: 127.0.0.1
    port: $ZBX_PORT
    timeout: 1s
    match: 'labels.route != "num"'
    delivery: { initial_backoff: 200ms, max_backoff: 400ms }
  - name: zbx-num
    plugin: zabbix
    server: localhost
    port: $ZBX_PORT
    key: reflex.severity
    value: '{{severity_num}}'
    match: 'labels.route == "num"'
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

T=$(date -u -d '-5 minutes' +%Y-%m-%dT%H:%M:%S.250Z)
send() { post /api/v1/events/webhook "$1" | cut -d' ' -f2- | jq -r '.ids[0]'; }
ev() { # HOST STATUS MESSAGE [ROUTE]
	jq -cn --arg h "$1" --arg s "$2" --arg m "$3" --arg r "${4:-text}" --arg t "$T" \
		'{host:$h, check:"disk", status:$s, severity:"critical", message:$m, time:$t, labels:{route:$r}}'
}
zcount() { jq -c "select(${1:-true})" "$ZLOG" | wc -l; }
zwait() { local i; for i in $(seq 1 100); do [ "$(zcount "${2:-true}")" -ge "$1" ] && return 0; sleep 0.1; done; return 1; }
zlast() { jq -c "select(${1:-true})" "$ZLOG" | tail -1; }
dead() { get "/api/v1/deliveries?state=dead" | cut -d' ' -f2- | jq -r ".deliveries[] | select(.event_id == \"$1\") | .last_error"; }
wait_dead() { local i; for i in $(seq 1 50); do [ -n "$(dead "$1")" ] && return 0; sleep 0.1; done; return 1; }

# --- a value, framed exactly
send "$(ev db1 firing 'disk 97% full')" >/dev/null
check "the value reaches the trapper" zwait 1
req=$(zlast)
eq "framing and JSON as the protocol says" "[]" "$(jq -c .violations <<<"$req")"
eq "the answer: processed 1, failed 0" "success processed: 1; failed: 0; total: 1; seconds spent: 0.000042" \
	"$(jq -r '"\(.answer.response) \(.answer.info)"' <<<"$req")"
eq "request: sender data" "sender data" "$(jq -r .json.request <<<"$req")"
eq "host, key, value" "db1|reflex.event|[firing] critical: disk - disk 97% full" \
	"$(jq -r '.json.data[0] | "\(.host)|\(.key)|\(.value)"' <<<"$req")"
eq "clock and ns are the event's time" "$(date -u -d "$T" +%s) 250000000" \
	"$(jq -r '.json.data[0] | "\(.clock) \(.ns)"' <<<"$req")"

# --- a numeric item with the severity number
send "$(ev db1 firing 'x' num)" >/dev/null
check "the numeric value arrives" zwait 1 '.json.data[0].key == "reflex.severity"'
eq "the value is the severity number as a string" '"2"' "$(zlast '.json.data[0].key == "reflex.severity"' | jq -c '.json.data[0].value')"

# --- resolved
send "$(ev db1 resolved 'back to 60%')" >/dev/null
check "the resolution arrives" zwait 3
eq "the value says resolved" "[resolved] critical: disk - back to 60%" "$(zlast | jq -r '.json.data[0].value')"

# --- failed: 1 (no such trapper item on that host) is permanent
n=$(zcount)
ID=$(send "$(ev nohost firing 'x')")
check "failed: 1: answered" zwait $((n + 1))
eq "failed: 1 in the answer" "processed: 0; failed: 1; total: 1; seconds spent: 0.000042" "$(zlast | jq -r .answer.info)"
check "failed: 1: a dead letter" wait_dead "$ID"
contains "failed: 1: the server's info in the dead letter" "Zabbix did not process 1 of 1 value(s): processed: 0; failed: 1" "$(dead "$ID")"
sleep 0.5
eq "failed: 1: not retried" $((n + 1)) "$(zcount)"

# --- response "failed" is permanent
n=$(zcount)
echo failed >>"$ZSCRIPT"
ID=$(send "$(ev db2 firing 'x')")
check "response failed: a dead letter" wait_dead "$ID"
contains "response failed: with the info" "Zabbix answered failed: host [x] not found" "$(dead "$ID")"
eq "response failed: one attempt" $((n + 1)) "$(zcount)"

# --- transient: a closed connection, a slow answer
for case in "close|a connection closed without an answer" "delay 2|an answer slower than timeout"; do
	n=$(zcount)
	echo "${case%%|*}" >>"$ZSCRIPT"
	send "$(ev web1 firing "${case#*|}")" >/dev/null
	check "${case#*|}: retried" zwait $((n + 2))
	eq "${case#*|}: the retry succeeds" "processed: 1; failed: 0; total: 1; seconds spent: 0.000042" "$(zlast | jq -r .answer.info)"
done

# --- the trapper down: retried until it is back
stop_trapper
ID=$(send "$(ev db2 firing 'while down')")
pend() { get "/api/v1/deliveries?state=pending" | cut -d' ' -f2- | jq -r ".deliveries[] | select(.event_id == \"$ID\") | .last_error"; }
for i in $(seq 1 50); do [ -n "$(pend)" ] && break; sleep 0.1; done
contains "trapper down: connection refused is retried" "Connection refused" "$(pend)"
start_trapper --port "$ZBX_PORT" # the same port again
check "trapper back: the value arrives" zwait 1 '.json.data[0].value == "[firing] critical: disk - while down"'

eq "no request broke the framing" 0 "$(zcount '.violations != []')"
m=$(get /metrics)
contains "values counted" 'reflex_output_zabbix_sent_total{instance="zbx"}' "$m"
contains "permanent failures counted" 'reflex_output_zabbix_failed_total{instance="zbx"} 2' "$m"
check "SIGTERM exits 0" stop_reflexd
finish
