#!/bin/bash
# The opsgenie output inside a running reflexd, against a stand-in for the
# Alert API v2 (tests/receivers/opsgenie_receiver.py) that checks each
# request as Opsgenie documents it: create with the alias from the
# fingerprint, the update on the same alias, acknowledge and close by
# alias (URL-encoded), priorities, tags, details, responders and the
# length limits; Opsgenie's answers (202 with a body, 429 with Retry-After,
# 5xx, a slow answer, a reset retried; 422 and 401 dead at once with
# Opsgenie's message and errors); the API key never in the log.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/receivers/receiver.sh"
trap 'stop_receiver; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/outputs/opsgenie/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"

KEY=eb243592-faa2-4ba2-a551-SeCrEtGeNiE1
start_receiver og "$SRCDIR/tests/receivers/opsgenie_receiver.py" --token "$KEY" || exit 1
OG="http://127.0.0.1:$RX_PORT"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
pipeline: { noise: { enabled: false } } # updates must reach the output
inputs:
  - { name: hook, plugin: webhook }
  - { name: nagios, plugin: webhook, path: /api/v1/events/nagios, format: nagios }
outputs:
  - name: og
    plugin: opsgenie
    region: eu
    url: $OG
    api_key: $KEY
    timeout: 1s
    tags: ['{{severity}}', 'team:{{labels.team}}', '{{labels.missing}}']
    priority_map: { warning: P4 }
    responders:
      - { type: team, name: dba }
      - { type: user, username: ada@example.com }
      - { type: schedule, id: 4513b7ea-3b91-438f-b7e4-e3e54af9147c }
    delivery: { initial_backoff: 100ms, max_backoff: 200ms, max_attempts: 5 }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

ALL='(.path | startswith("/v2/alerts"))'
CREATE='.path == "/v2/alerts"'
send() { post /api/v1/events/webhook "$1" >/dev/null; }
ev() { # FINGERPRINT STATUS SEVERITY [MESSAGE] [EXTRA-JSON]
	jq -cn --arg f "$1" --arg s "$2" --arg v "$3" --arg m "${4:-disk almost full}" \
		--argjson x "${5:-{\}}" \
		'{host:"db1", check:"disk", status:$s, severity:$v, message:$m, fingerprint:$f,
		  labels:{team:"dba"}} + $x'
}
last() { rx_last "$ALL"; }

# --- create, as Opsgenie documents it
send "$(ev "db1/disk var" firing critical)"
check "the first event creates an alert" rx_wait 1 "$CREATE"
req=$(last)
eq "no documented rule violated" "[]" "$(jq -c .violations <<<"$req")"
eq "POST /v2/alerts with JSON" "POST /v2/alerts application/json" "$(jq -r '"\(.method) \(.path) \(.headers["content-type"])"' <<<"$req")"
eq "Authorization: GenieKey" "GenieKey $KEY" "$(jq -r .headers.authorization <<<"$req")"
eq "alias is the fingerprint" "db1/disk var" "$(jq -r .json.alias <<<"$req")"
eq "message" "[critical] disk on db1" "$(jq -r .json.message <<<"$req")"
contains "description carries the event's message" "disk almost full" "$(jq -r .json.description <<<"$req")"
eq "critical is P1" P1 "$(jq -r .json.priority <<<"$req")"
eq "entity is the host, source reflex" "db1 reflex" "$(jq -r '"\(.json.entity) \(.json.source)"' <<<"$req")"
eq "tags rendered, the empty one left out" '["critical","team:dba"]' "$(jq -c .json.tags <<<"$req")"
eq "details carry fields and labels" "db1 disk dba" "$(jq -r '.json.details | "\(.host) \(.check) \(.team)"' <<<"$req")"
eq "responders as Opsgenie takes them" '[{"name":"dba","type":"team"},{"type":"user","username":"ada@example.com"},{"id":"4513b7ea-3b91-438f-b7e4-e3e54af9147c","type":"schedule"}]' "$(jq -cS .json.responders <<<"$req")"

# --- update: the same alias (Opsgenie deduplicates into the open alert)
send "$(ev "db1/disk var" firing critical "disk full now")"
check "the update arrives" rx_wait 2 "$CREATE"
eq "the update uses the same alias" "db1/disk var" "$(last | jq -r .json.alias)"

# --- acknowledge (label) and close, by alias, URL-encoded
send "$(ev "db1/disk var" firing critical "on it" '{"labels":{"team":"dba","acknowledged":"yes"}}')"
check "the acknowledgement arrives" rx_wait 3 "$ALL"
req=$(last)
eq "acknowledge by alias" "/v2/alerts/db1%2Fdisk%20var/acknowledge?identifierType=alias" "$(jq -r .path <<<"$req")"
eq "acknowledge: note and source" "on it reflex" "$(jq -r '"\(.json.note) \(.json.source)"' <<<"$req")"
eq "acknowledge: no violation" "[]" "$(jq -c .violations <<<"$req")"
send "$(ev "db1/disk var" resolved critical "back to normal")"
check "the resolution arrives" rx_wait 4 "$ALL"
req=$(last)
eq "resolved closes by alias" "/v2/alerts/db1%2Fdisk%20var/close?identifierType=alias" "$(jq -r .path <<<"$req")"
eq "close: no violation" "[]" "$(jq -c .violations <<<"$req")"

# --- Nagios ACKNOWLEDGEMENT acknowledges
nag() { jq -cn --arg t "$1" --arg s "$2" '{NOTIFICATIONTYPE:$t, HOSTNAME:"web1", SERVICEDESC:"HTTP", SERVICESTATE:$s, SERVICEOUTPUT:"HTTP 500"}'; }
n=$(rx_count "$ALL")
r=$(post /api/v1/events/nagios "$(nag PROBLEM CRITICAL)")
check "the Nagios problem is accepted (${r%% *})" test "${r%% *}" -ge 200 -a "${r%% *}" -lt 300
check "the Nagios problem creates an alert" rx_wait $((n + 1)) "$ALL"
alias=$(last | jq -r .json.alias)
post /api/v1/events/nagios "$(nag ACKNOWLEDGEMENT CRITICAL)" >/dev/null
check "the Nagios acknowledgement arrives" rx_wait $((n + 2)) "$ALL"
contains "Nagios ACKNOWLEDGEMENT acknowledges the alert" "/acknowledge?identifierType=alias" "$(last | jq -r .path)"
want=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="-._~"))' "$alias")
eq "... of the same alias" "/v2/alerts/$want/acknowledge?identifierType=alias" "$(last | jq -r .path)"

# --- priorities and Opsgenie's limits
for pair in error:P2 warning:P4 notice:P4 info:P5; do
	n=$(rx_count "$CREATE")
	send "$(ev "prio-${pair%%:*}" firing "${pair%%:*}")"
	rx_wait $((n + 1)) "$CREATE"
	eq "severity ${pair%%:*} is priority ${pair#*:}" "${pair#*:}" "$(rx_last "$CREATE" | jq -r .json.priority)"
done
n=$(rx_count "$CREATE")
big=$(head -c 20000 /dev/zero | tr '\0' 'x')
send "$(ev long-1 firing critical "$big" "{\"check\":\"$(head -c 300 /dev/zero | tr '\0' 'c')\"}")"
check "a huge event is delivered" rx_wait $((n + 1)) "$CREATE"
req=$(rx_last "$CREATE")
eq "the huge event violates nothing" "[]" "$(jq -c .violations <<<"$req")"
eq "message cut to 130 characters" 130 "$(jq -r '.json.message | length' <<<"$req")"
eq "description cut to 15,000 characters" 15000 "$(jq -r '.json.description | length' <<<"$req")"
longfp=$(head -c 600 /dev/zero | tr '\0' 'f')
send "$(ev "$longfp" firing critical)"
send "$(ev "$longfp" resolved critical)"
check "a 600-character fingerprint: create and close arrive" rx_wait $((n + 3)) "$ALL"
a1=$(rx_last "$CREATE" | jq -r .json.alias)
check "the alias is at most 512 characters" test "${#a1}" -le 512 -a "${#a1}" -gt 400
eq "the close uses that alias" "/v2/alerts/$a1/close?identifierType=alias" "$(last | jq -r .path)"

# --- Opsgenie's transient answers: retried, then delivered once
for case in \
	'HTTP 500|[{"status": 500, "json": {"message": "Internal Server Error", "took": 0.001, "requestId": "x"}}]' \
	'a reset connection|[{"reset": true}]' \
	'an answer slower than timeout|[{"delay": 2.5}]'; do
	what=${case%%|*}
	n=$(rx_count "$ALL")
	ok0=$(rx_count "$ALL and .action == null")
	rx_script "${case#*|}"
	send "$(ev "retry-$n" firing critical)"
	check "$what: retried and then delivered" rx_wait $((n + 2)) "$ALL"
	sleep 0.5
	eq "$what: delivered exactly once after one failure" $((ok0 + 1)) "$(rx_count "$ALL and .action == null")"
	eq "$what: no further attempt" $((n + 2)) "$(rx_count "$ALL")"
done

# --- 429 with Retry-After: the retry waits for it (backoff alone is 100 ms)
n=$(rx_count "$ALL")
rx_script '[{"status": 429, "headers": {"Retry-After": "2"}, "json": {"message": "You are making too many requests! To avoid errors, we recommend you limit requests.", "took": 0.0, "requestId": "r"}}]'
send "$(ev retry-after firing critical)"
check "429: retried and delivered" rx_wait $((n + 2)) "$ALL"
gap=$(jq -s "[.[] | select($ALL)] | .[-1].time - .[-2].time" "$RX_LOG")
check "the retry waited for Retry-After: 2 s (got $gap s)" awk "BEGIN { exit !($gap >= 1.9 && $gap < 5) }"
check "the 429 is logged with Opsgenie's words" grep -q "HTTP 429: You are making too many requests.*will retry" "$TMP/reflexd.log"

# --- 422 and 401: not retried, dead at once with Opsgenie's message
n=$(rx_count "$ALL")
rx_script '[{"status": 422, "json": {"message": "Request body is not processable. Please check the errors.", "errors": {"message": "Message can not be empty."}, "took": 0.001, "requestId": "r1"}}]'
send "$(ev invalid-1 firing critical)"
check "422: one request" rx_wait $((n + 1)) "$ALL"
sleep 1
eq "422 is permanent: not retried" $((n + 1)) "$(rx_count "$ALL")"
dead=$(get "/api/v1/deliveries?state=dead&output=og" | cut -d' ' -f2-)
contains "the dead letter has Opsgenie's message and errors" \
	"HTTP 422: Request body is not processable. Please check the errors. (message: Message can not be empty.)" \
	"$(jq -r '.deliveries[0].last_error' <<<"$dead")"
rx_script '[{"status": 401, "json": {"message": "Could not authenticate", "took": 0.0, "requestId": "r2"}}]'
send "$(ev invalid-2 firing critical)"
check "401: one request" rx_wait $((n + 2)) "$ALL"
sleep 1
eq "401 is permanent: not retried" $((n + 2)) "$(rx_count "$ALL")"
dead=$(get "/api/v1/deliveries?state=dead&output=og" | cut -d' ' -f2-)
eq "two dead letters" 2 "$(jq '.deliveries | length' <<<"$dead")"
contains "the 401 dead letter says so" "HTTP 401: Could not authenticate" "$(jq -r '.deliveries[1].last_error' <<<"$dead")"

# --- counted, no violation anywhere, never the key in the log
m=$(get /metrics)
contains "accepted requests counted" 'reflex_output_opsgenie_sent_total{instance="og"}' "$m"
contains "refusals counted" 'reflex_output_opsgenie_failed_total{instance="og"} 2' "$m"
eq "no request broke Opsgenie's rules" 0 "$(rx_count "$ALL and (.violations | length) > 0")"
check "the API key never reaches the log" bash -c "! grep -q -- 'SeCrEtGeNiE1' '$TMP/reflexd.log'"
check "SIGTERM exits 0" stop_reflexd
finish
