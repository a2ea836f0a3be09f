#!/bin/bash
# The teams output inside a running reflexd, against a stand-in for Teams'
# webhooks (tests/receivers/teams_receiver.py) that checks each message as
# Microsoft documents it: a Workflows message with an Adaptive Card
# (format adaptive) and a legacy connector MessageCard (format
# messagecard); firing, update and resolution as new messages; a huge
# message cut under 28 KB; Teams' answers (202 empty, 200 "1", the
# connector's 200 with an error text, 429 with Retry-After, 5xx, a slow
# answer, a reset retried; 400 and 413 dead at once with Teams' message);
# the webhook URL's path and signature never in the log.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/receivers/receiver.sh"
trap 'stop_receiver; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/outputs/teams/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"

SIG=SiGsEcReT0123456789abc
HOOK="/workflows/1a2b3c4d5e/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=$SIG"
start_receiver teams "$SRCDIR/tests/receivers/teams_receiver.py" --webhook-path "$HOOK" || exit 1
TM="http://127.0.0.1:$RX_PORT"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
pipeline: { noise: { enabled: false } } # updates must reach the output
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - name: flow
    plugin: teams
    url: "$TM$HOOK"
    timeout: 1s
    link: 'https://reflex.example.com/events/{{id}}'
    match: 'labels.route == "flow"'
    delivery: { initial_backoff: 100ms, max_backoff: 200ms, max_attempts: 5 }
  - name: connector
    plugin: teams
    format: messagecard
    url: "$TM$HOOK"
    link: 'https://reflex.example.com/events/{{id}}'
    match: 'labels.route == "connector"'
    delivery: { initial_backoff: 100ms, max_backoff: 200ms, max_attempts: 5 }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

FLOW='.json.type == "message"'
CONN='.json["@type"] == "MessageCard"'
ALL='true'
send() { post /api/v1/events/webhook "$1" >/dev/null; }
ev() { # HOST STATUS SEVERITY [MESSAGE] [ROUTE]
	jq -cn --arg h "$1" --arg s "$2" --arg v "$3" --arg m "${4:-disk almost full}" --arg r "${5:-flow}" \
		'{host:$h, check:"disk", status:$s, severity:$v, message:$m, labels:{route:$r, team:"dba"}}'
}
card() { jq -c '.json.attachments[0].content'; }

# --- Workflows: a message with an Adaptive Card
send "$(ev db1 firing critical)"
check "the first event reaches the workflow" rx_wait 1 "$FLOW"
req=$(rx_last "$FLOW")
eq "no documented rule violated" "[]" "$(jq -c .violations <<<"$req")"
eq "POST with JSON to the trigger URL" "POST application/json $HOOK" "$(jq -r '"\(.method) \(.headers["content-type"]) \(.path)"' <<<"$req")"
eq "the Adaptive Card attachment" "application/vnd.microsoft.card.adaptive null" "$(jq -r '.json.attachments[0] | "\(.contentType) \(.contentUrl)"' <<<"$req")"
c=$(card <<<"$req")
eq "AdaptiveCard 1.4 with \$schema" "AdaptiveCard 1.4 http://adaptivecards.io/schemas/adaptive-card.json" "$(jq -r '"\(.type) \(.version) \(."$schema")"' <<<"$c")"
eq "the title, in the attention colour" "[firing] critical: disk on db1 Attention" "$(jq -r '.body[0] | "\(.text) \(.color)"' <<<"$c")"
eq "the body is the message" "disk almost full" "$(jq -r '.body[1].text' <<<"$c")"
eq "facts: host, check, severity" "db1 disk critical" "$(jq -r '.body[2].facts | map({(.title): .value}) | add | "\(.Host) \(.Check) \(.Severity)"' <<<"$c")"
eq "labels as facts" dba "$(jq -r '.body[2].facts[] | select(.title == "team") | .value' <<<"$c")"
contains "a Details button" "Action.OpenUrl Details https://reflex.example.com/events/" "$(jq -r '.actions[0] | "\(.type) \(.title) \(.url)"' <<<"$c")"

send "$(ev db1 firing critical "disk full now")"
check "the update is a new message" rx_wait 2 "$FLOW"
eq "the update's body" "disk full now" "$(rx_last "$FLOW" | card | jq -r '.body[1].text')"
send "$(ev db1 resolved critical "back to normal")"
check "the resolution is a new message" rx_wait 3 "$FLOW"
eq "resolved, in the good colour" "[resolved] critical: disk on db1 Good" "$(rx_last "$FLOW" | card | jq -r '.body[0] | "\(.text) \(.color)"')"

# --- Teams' 28 KB: a huge message is cut to fit
send "$(ev big1 firing critical "$(head -c 60000 /dev/zero | tr '\0' 'x')")"
check "a huge message is delivered" rx_wait 4 "$FLOW"
req=$(rx_last "$FLOW")
eq "the huge message violates nothing" "[]" "$(jq -c .violations <<<"$req")"
check "the message is under 28 KB ($(jq -j .body <<<"$req" | wc -c) bytes)" test "$(jq -j .body <<<"$req" | wc -c)" -le 28672
check "most of the body is kept" test "$(card <<<"$req" | jq -r '.body[1].text | length')" -gt 20000

# --- the legacy connector's MessageCard
send "$(ev db2 firing critical "via connector" connector)"
check "the MessageCard arrives" rx_wait 1 "$CONN"
req=$(rx_last "$CONN")
eq "MessageCard: no violation" "[]" "$(jq -c .violations <<<"$req")"
eq "MessageCard: context, summary, red theme" "https://schema.org/extensions [firing] critical: disk on db2 D13438" "$(jq -r '.json | "\(."@context") \(.summary) \(.themeColor)"' <<<"$req")"
eq "MessageCard: text and facts" "via connector db2" "$(jq -r '.json.sections[0] | "\(.text) \(.facts[0].value)"' <<<"$req")"
eq "MessageCard: an OpenUri action" "OpenUri Details" "$(jq -r '.json.potentialAction[0] | "\(."@type") \(.name)"' <<<"$req")"
send "$(ev db2 resolved critical "fine again" connector)"
check "MessageCard: the resolution arrives" rx_wait 2 "$CONN"
eq "MessageCard: resolved is green" 2EB886 "$(rx_last "$CONN" | jq -r .json.themeColor)"

# --- Teams' transient answers: retried, then delivered once
for case in \
	'the connector'"'"'s 200 with HTTP error 429 inside|[{"status": 200, "body": "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=deadbeef.0."}]' \
	'HTTP 502|[{"status": 502, "json": {"error": {"code": "BadGateway", "message": "upstream"}}}]' \
	'a reset connection|[{"reset": true}]' \
	'an answer slower than timeout|[{"delay": 2.5}]'; do
	what=${case%%|*}
	n=$(rx_count "$FLOW")
	ok0=$(rx_count "$FLOW and .action == null")
	rx_script "${case#*|}"
	send "$(ev "retry-$n" firing warning)"
	check "$what: retried and then delivered" rx_wait $((n + 2)) "$FLOW"
	sleep 0.5
	eq "$what: delivered exactly once after one failure" $((ok0 + 1)) "$(rx_count "$FLOW and .action == null")"
	eq "$what: no further attempt" $((n + 2)) "$(rx_count "$FLOW")"
done
check "the connector's error text is logged" grep -q "returned HTTP error 429.*will retry" "$TMP/reflexd.log"

# --- 429 with Retry-After: the retry waits for it (backoff alone is 100 ms)
n=$(rx_count "$FLOW")
rx_script '[{"status": 429, "headers": {"Retry-After": "2"}, "json": {"error": {"code": "WorkflowTriggerIsThrottled", "message": "Rate limit is exceeded. Try again in 2 seconds."}}}]'
send "$(ev retry-after firing warning)"
check "429: retried and delivered" rx_wait $((n + 2)) "$FLOW"
gap=$(jq -s "[.[] | select($FLOW)] | .[-1].time - .[-2].time" "$RX_LOG")
check "the retry waited for Retry-After: 2 s (got $gap s)" awk "BEGIN { exit !($gap >= 1.9 && $gap < 5) }"

# --- 400 and 413: not retried, dead at once with Teams' message
n=$(rx_count "$FLOW")
rx_script '[{"status": 400, "json": {"error": {"code": "InvalidRequestContent", "message": "The request content is not valid and could not be deserialized."}}}]'
send "$(ev invalid1 firing warning)"
check "400: one request" rx_wait $((n + 1)) "$FLOW"
sleep 1
eq "400 is permanent: not retried" $((n + 1)) "$(rx_count "$FLOW")"
dead=$(get "/api/v1/deliveries?state=dead&output=flow" | cut -d' ' -f2-)
contains "the dead letter has Teams' message" "HTTP 400: The request content is not valid and could not be deserialized." \
	"$(jq -r '.deliveries[0].last_error' <<<"$dead")"
rx_script '[{"status": 413, "body": "Payload too large"}]'
send "$(ev invalid2 firing warning)"
check "413: one request" rx_wait $((n + 2)) "$FLOW"
sleep 1
eq "413 is permanent: not retried" $((n + 2)) "$(rx_count "$FLOW")"
n=$(rx_count "$CONN")
rx_script '[{"status": 200, "body": "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 403 with ContextId tcid=0."}]'
send "$(ev invalid3 firing warning "x" connector)"
check "connector 200 with HTTP error 403 inside: one request" rx_wait $((n + 1)) "$CONN"
sleep 1
eq "... is permanent: not retried" $((n + 1)) "$(rx_count "$CONN")"
dead=$(get "/api/v1/deliveries?state=dead&output=connector" | cut -d' ' -f2-)
contains "... and a dead letter with the connector's text" "returned HTTP error 403" "$(jq -r '.deliveries[0].last_error' <<<"$dead")"

# --- counted, no violation anywhere, never the URL's secrets in the log
m=$(get /metrics)
contains "sent messages counted" 'reflex_output_teams_sent_total{instance="flow"}' "$m"
contains "refusals counted" 'reflex_output_teams_failed_total{instance="flow"} 2' "$m"
eq "no request broke Teams' rules" 0 "$(rx_count "(.violations | length) > 0")"
check "the signature never reaches the log" bash -c "! grep -q -- '$SIG' '$TMP/reflexd.log'"
check "the workflow path never reaches the log" bash -c "! grep -q -- '1a2b3c4d5e' '$TMP/reflexd.log'"
check "SIGTERM exits 0" stop_reflexd
finish
