#!/bin/bash
# The pagerduty output inside a running reflexd, against a stand-in for the
# Events API v2 (tests/receivers/pagerduty_receiver.py) that checks each
# event as PagerDuty documents it: trigger with payload, then the update,
# a Zabbix acknowledgement and the resolution on the same dedup_key; the
# severity mapping and the summary cut; PagerDuty's answers (202 with a
# body, 429 with and without Retry-After, 5xx, a slow answer, a reset
# connection retried; a 400 invalid event dead at once with PagerDuty's
# errors in the dead letter); the routing key never in the log.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/receivers/receiver.sh"
trap 'stop_receiver; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/outputs/pagerduty/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"

KEY=R0uT1nGkEy0123456789abcdefSeCrEt # 32 characters, like an integration key
start_receiver pd "$SRCDIR/tests/receivers/pagerduty_receiver.py" --token "$KEY" || exit 1
PD="http://127.0.0.1:$RX_PORT"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
pipeline: { noise: { enabled: false } } # updates must reach the output
inputs:
  - { name: hook, plugin: webhook }
  - { name: zabbix, plugin: webhook, path: /api/v1/events/zabbix, format: zabbix }
outputs:
  - name: pd
    plugin: pagerduty
    url: $PD/v2/enqueue
    routing_key: $KEY
    timeout: 1s
    group: '{{labels.team}}'
    client_url: 'https://reflex.example.com/events/{{id}}'
    link: 'https://runbooks.example.com/{{check}}'
    severity_map: { notice: warning }
    delivery: { initial_backoff: 100ms, max_backoff: 200ms, max_attempts: 5 }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

EQ='.path == "/v2/enqueue"'
send() { post /api/v1/events/webhook "$1" >/dev/null; }
ev() { # FINGERPRINT STATUS SEVERITY [MESSAGE] [EXTRA-JSON]
	jq -cn --arg f "$1" --arg s "$2" --arg v "$3" --arg m "${4:-disk almost full}" \
		--argjson x "${5:-{\}}" \
		'{host:"db1", check:"disk", status:$s, severity:$v, message:$m, fingerprint:$f,
		  labels:{team:"dba"}, attrs:{mount:"/var"}} + $x'
}
last() { rx_last "$EQ"; }

# --- trigger, as PagerDuty documents it
send "$(ev db1-disk firing critical)"
check "the first event reaches /v2/enqueue" rx_wait 1 "$EQ"
req=$(last)
eq "no documented rule violated" "[]" "$(jq -c .violations <<<"$req")"
eq "POST with JSON" "POST application/json" "$(jq -r '"\(.method) \(.headers["content-type"])"' <<<"$req")"
eq "routing_key in the body" "$KEY" "$(jq -r .json.routing_key <<<"$req")"
eq "event_action trigger" trigger "$(jq -r .json.event_action <<<"$req")"
eq "dedup_key is the fingerprint" db1-disk "$(jq -r .json.dedup_key <<<"$req")"
eq "summary" "[critical] disk on db1: disk almost full" "$(jq -r .json.payload.summary <<<"$req")"
eq "source is the host" db1 "$(jq -r .json.payload.source <<<"$req")"
eq "severity critical" critical "$(jq -r .json.payload.severity <<<"$req")"
eq "class is the check, group the team label" "disk dba" "$(jq -r '"\(.json.payload.class) \(.json.payload.group)"' <<<"$req")"
check "timestamp is ISO 8601" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' <<<"$(jq -r .json.payload.timestamp <<<"$req")"
eq "custom_details carry labels and attrs" "dba /var" "$(jq -r '"\(.json.payload.custom_details.labels.team) \(.json.payload.custom_details.attrs.mount)"' <<<"$req")"
eq "client reflex with the event's URL" "reflex https://reflex.example.com/events/" "$(jq -r '"\(.json.client) \(.json.client_url)"' <<<"$req" | sed 's/events\/[0-9A-Z]*$/events\//')"
eq "links[] with the runbook" "https://runbooks.example.com/disk Details" "$(jq -r '.json.links[0] | "\(.href) \(.text)"' <<<"$req")"
eq "PagerDuty's 202 answer was given" 202 "$(jq -r '.action // 202' <<<"$req")"

# --- update, acknowledgement (label), resolution: the same dedup_key
send "$(ev db1-disk firing critical "disk full now")"
check "the update arrives" rx_wait 2 "$EQ"
eq "the update triggers the same dedup_key" "trigger db1-disk" "$(last | jq -r '"\(.json.event_action) \(.json.dedup_key)"')"
send "$(ev db1-disk firing critical "on it" '{"labels":{"team":"dba","acknowledged":"true"}}')"
check "the acknowledgement arrives" rx_wait 3 "$EQ"
req=$(last)
eq "a label acknowledged=true sends acknowledge" "acknowledge db1-disk" "$(jq -r '"\(.json.event_action) \(.json.dedup_key)"' <<<"$req")"
eq "acknowledge carries no payload" null "$(jq -c .json.payload <<<"$req")"
eq "acknowledge: no violation" "[]" "$(jq -c .violations <<<"$req")"
send "$(ev db1-disk resolved critical "back to normal")"
check "the resolution arrives" rx_wait 4 "$EQ"
req=$(last)
eq "resolved sends resolve on the same dedup_key" "resolve db1-disk" "$(jq -r '"\(.json.event_action) \(.json.dedup_key)"' <<<"$req")"
eq "resolve: no violation" "[]" "$(jq -c .violations <<<"$req")"

# --- Zabbix: problem, then the acknowledgement update, then the recovery
zbx() { # VALUE UPDATE ACK
	jq -cn --argjson v "$1" --argjson u "$2" --arg a "$3" \
		'{event_id:"4711", event_value:$v, event_name:"High CPU on db2", event_severity:4,
		  host_name:"db2", event_update_status:$u, event_ack_status:$a,
		  event_status:(if $v == 1 then "PROBLEM" else "RESOLVED" end)}'
}
n=$(rx_count "$EQ")
r=$(post /api/v1/events/zabbix "$(zbx 1 0 No)")
check "the Zabbix problem is accepted (${r%% *})" test "${r%% *}" -ge 200 -a "${r%% *}" -lt 300
check "the Zabbix problem arrives" rx_wait $((n + 1)) "$EQ"
eq "Zabbix problem: trigger on the Zabbix event" "trigger zabbix:4711 critical" "$(last | jq -r '"\(.json.event_action) \(.json.dedup_key) \(.json.payload.severity)"')"
post /api/v1/events/zabbix "$(zbx 1 1 Yes)" >/dev/null
check "the Zabbix acknowledgement arrives" rx_wait $((n + 2)) "$EQ"
eq "Zabbix {EVENT.ACK.STATUS}=Yes sends acknowledge" "acknowledge zabbix:4711" "$(last | jq -r '"\(.json.event_action) \(.json.dedup_key)"')"
post /api/v1/events/zabbix "$(zbx 0 0 Yes)" >/dev/null
check "the Zabbix recovery arrives" rx_wait $((n + 3)) "$EQ"
eq "Zabbix recovery sends resolve" "resolve zabbix:4711" "$(last | jq -r '"\(.json.event_action) \(.json.dedup_key)"')"

# --- severity mapping, the summary cut, a fingerprint past 255 characters
for pair in warning:warning notice:warning info:info debug:info error:error emergency:critical; do
	n=$(rx_count "$EQ")
	send "$(ev "sev-${pair%%:*}" firing "${pair%%:*}")"
	rx_wait $((n + 1)) "$EQ"
	eq "severity ${pair%%:*} is sent as ${pair#*:}" "${pair#*:}" "$(last | jq -r .json.payload.severity)"
done
n=$(rx_count "$EQ")
send "$(ev long-msg firing critical "$(head -c 5000 /dev/zero | tr '\0' 'x')")"
check "a 5,000-character message is delivered" rx_wait $((n + 1)) "$EQ"
req=$(last)
eq "the long message violates nothing" "[]" "$(jq -c .violations <<<"$req")"
eq "the summary is cut to 1,024 characters" 1024 "$(jq -r '.json.payload.summary | length' <<<"$req")"
eq "the full message stays in custom_details" 5000 "$(jq -r '.json.payload.custom_details.message | length' <<<"$req")"
longfp=$(head -c 300 /dev/zero | tr '\0' 'f')
send "$(ev "$longfp" firing critical)"
send "$(ev "$longfp" resolved critical)"
check "a long fingerprint: trigger and resolve arrive" rx_wait $((n + 3)) "$EQ"
k1=$(jq -r 'select(.json.event_action == "trigger") | .json.dedup_key' "$RX_LOG" | grep '^fff' | tail -1)
k2=$(last | jq -r .json.dedup_key)
check "a long fingerprint gives a dedup_key of at most 255 characters" test "${#k1}" -le 255 -a "${#k1}" -gt 200
eq "... the same for its resolution" "$k1" "$k2"

# --- PagerDuty's transient answers: retried, then delivered once
for case in \
	'HTTP 429 without Retry-After|[{"status": 429, "ctype": "application/json", "body": "{\"status\":\"throttle event\",\"message\":\"Requests for this service are arriving too quickly.  Please retry later.\"}"}]' \
	'HTTP 500|[{"status": 500, "body": "internal error"}]' \
	'HTTP 503|[{"status": 503, "body": "unavailable"}]' \
	'a reset connection|[{"reset": true}]' \
	'an answer slower than timeout|[{"delay": 2.5}]'; do
	what=${case%%|*}
	n=$(rx_count "$EQ")
	ok0=$(rx_count "$EQ and .action == null")
	rx_script "${case#*|}"
	send "$(ev "retry-$n" firing critical)"
	check "$what: retried and then delivered" rx_wait $((n + 2)) "$EQ"
	sleep 0.5
	eq "$what: delivered exactly once after one failure" $((ok0 + 1)) "$(rx_count "$EQ and .action == null")"
	eq "$what: no further attempt" $((n + 2)) "$(rx_count "$EQ")"
done

# --- 429 with Retry-After: the retry waits for it (backoff alone is 100 ms)
n=$(rx_count "$EQ")
rx_script '[{"status": 429, "headers": {"Retry-After": "2"}, "ctype": "application/json", "body": "{\"status\":\"throttle event\",\"message\":\"Too many requests\"}"}]'
send "$(ev retry-after firing critical)"
check "429 with Retry-After: retried and delivered" rx_wait $((n + 2)) "$EQ"
gap=$(jq -s "[.[] | select($EQ)] | .[-1].time - .[-2].time" "$RX_LOG")
check "the retry waited for Retry-After: 2 s (got $gap s)" awk "BEGIN { exit !($gap >= 1.9 && $gap < 5) }"
eq "429 with Retry-After: delivered" null "$(last | jq -c .action)"

# --- 400 invalid event: not retried, dead at once with PagerDuty's errors
n=$(rx_count "$EQ")
rx_script '[{"status": 400, "json": {"status": "invalid event", "message": "Event object is invalid", "errors": ["'"'"'payload.summary'"'"' is missing or blank"]}}]'
send "$(ev invalid-1 firing critical)"
check "400: one request" rx_wait $((n + 1)) "$EQ"
sleep 1
eq "400 is permanent: not retried" $((n + 1)) "$(rx_count "$EQ")"
dead=$(get "/api/v1/deliveries?state=dead&output=pd" | cut -d' ' -f2-)
eq "the dead letter is listed" 1 "$(jq '.deliveries | length' <<<"$dead")"
contains "the dead letter has PagerDuty's message and errors[]" \
	"HTTP 400: Event object is invalid: 'payload.summary' is missing or blank" \
	"$(jq -r '.deliveries[0].last_error' <<<"$dead")"
check "the refusal is logged as not retried" grep -q "Event object is invalid.*not retried" "$TMP/reflexd.log"

# --- counted, no violation anywhere, never the key in the log
m=$(get /metrics)
contains "accepted events counted" 'reflex_output_pagerduty_sent_total{instance="pd"}' "$m"
contains "refusals counted" 'reflex_output_pagerduty_failed_total{instance="pd"} 1' "$m"
eq "no request broke PagerDuty's rules" 0 "$(rx_count "$EQ and (.violations | length) > 0")"
check "the routing key never reaches the log" bash -c "! grep -q -- '$KEY' '$TMP/reflexd.log'"
check "SIGTERM exits 0" stop_reflexd
finish
