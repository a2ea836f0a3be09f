#!/bin/bash
# The servicenow ITSM plugin inside a running reflexd, against a stateful
# stand-in for the Table API (tests/receivers/servicenow_receiver.py) that
# checks auth and request formats as ServiceNow documents them: a firing
# event opens an incident (found first by correlation_id), updates add work
# notes, the resolution resolves it (state 6, close code and notes), the
# next firing opens a new one; an incident another agent opened is found by
# correlation_id; ServiceNow's errors: 429 with Retry-After (waited for),
# 5xx, an HTML 200 of a hibernating instance, a reset (retried), 400 and
# 401 (dead letters with ServiceNow's message). No secret in the log.
#
# Until the core wires `itsm:` instances, the plugin can be built as an
# output (-DRFX_TEST_AS_OUTPUT); the script uses whichever section the
# installed plugin's kind needs.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/receivers/receiver.sh"
trap 'stop_receiver; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/itsm/servicenow/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"
SECTION=${REFLEX_ITSM_SECTION:-}
if [ -z "$SECTION" ]; then
	if "$REFLEXD" --describe itsm/servicenow >/dev/null 2>&1; then SECTION=itsm; else SECTION=outputs; fi
fi

USER_=reflex.api
PASS='PaSsW0rd-SeCrEt'
TOKEN=oauth-ToKeN-SeCrEt-42
B64=$(printf '%s:%s' "$USER_" "$PASS" | base64 -w0)
start_receiver snow "$SRCDIR/tests/receivers/servicenow_receiver.py" --user "$USER_" \
	--password "$PASS" --token "$TOKEN" || exit 1
SN="http://127.0.0.1:$RX_PORT"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
pipeline:
  noise: { enabled: false } # every update of a fingerprint reaches the plugin
inputs:
  - { name: hook, plugin: webhook }
$SECTION:
  - name: snow
    plugin: servicenow
    url: $SN
    user: $USER_
    password: "$PASS"
    caller_id: reflex.bot
    assignment_group: Network Operations
    category: network
    cmdb_ci: '{{host}}'
    timeout: 1s
    match: 'labels.route == "basic"'
    delivery: { initial_backoff: 200ms, max_backoff: 400ms, max_attempts: 4 }
  - name: snowtok
    plugin: servicenow
    url: $SN/
    token: $TOKEN
    match: 'labels.route == "token"'
    delivery: { initial_backoff: 200ms, max_backoff: 400ms, max_attempts: 4 }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

send() { post /api/v1/events/webhook "$1" >/dev/null; }
ev() { # HOST CHECK STATUS [MESSAGE] [ROUTE] [SEVERITY] [FINGERPRINT]
	jq -cn --arg h "$1" --arg c "$2" --arg s "$3" --arg m "${4:-link down}" --arg r "${5:-basic}" \
		--arg v "${6:-critical}" --arg f "${7:-}" \
		'{host:$h, check:$c, status:$s, severity:$v, message:$m, labels:{route:$r}}
		 + (if $f != "" then {fingerprint:$f} else {} end)'
}
state() { curl -sf "$SN/_state"; }
corr() { # the correlation key reflex derives from a fingerprint
	/usr/bin/python3 -c '
import sys
h = 14695981039346656037
for b in sys.argv[1].encode():
    h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
h = ((h ^ 0x1f) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
print("reflex-%016x" % h)' "$1"
}
FROMRX='(.headers["user-agent"] // "" | startswith("reflex"))'
POSTS="$FROMRX and .method == \"POST\""
PATCHES="$FROMRX and .method == \"PATCH\""
wait_for() { local t=$1 i; shift; for i in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done; return 1; }
dead() { get "/api/v1/deliveries?state=dead" | cut -d' ' -f2-; }

# --- a firing event opens an incident
send "$(ev sw1 ifdown firing "Gi0/1 down" basic critical fp-sw1)"
check "the firing event creates an incident" rx_wait 1 "$POSTS"
KEY=$(corr fp-sw1)
find=$(jq -c "select($FROMRX and .method == \"GET\")" "$RX_LOG" | head -1)
eq "first it looks for an open incident by correlation_id" \
	"correlation_id=$KEY^active=true^state<6^ORDERBYDESCsys_created_on" \
	"$(jq -r '.query.sysparm_query[0]' <<<"$find")"
eq "one incident at most, three fields" "1 sys_id,number,state" \
	"$(jq -r '"\(.query.sysparm_limit[0]) \(.query.sysparm_fields[0])"' <<<"$find")"
req=$(rx_last "$POSTS")
eq "POST to the incident table" /api/now/table/incident "$(jq -r .path <<<"$req")"
eq "basic auth" "Basic $B64" "$(jq -r .headers.authorization <<<"$req")"
eq "JSON in, JSON out" "application/json application/json" \
	"$(jq -r '"\(.headers["content-type"]) \(.headers.accept)"' <<<"$req")"
eq "no documented rule violated" "[]" "$(jq -c .violations <<<"$req")"
eq "short_description from the template" "[critical] ifdown on sw1" "$(jq -r .json.short_description <<<"$req")"
contains "description carries the message" "Gi0/1 down" "$(jq -r .json.description <<<"$req")"
eq "critical: urgency and impact 1" "1 1" "$(jq -r '"\(.json.urgency) \(.json.impact)"' <<<"$req")"
eq "correlation_id and correlation_display" "$KEY reflex" \
	"$(jq -r '"\(.json.correlation_id) \(.json.correlation_display)"' <<<"$req")"
eq "caller, group, category, CI" "reflex.bot|Network Operations|network|sw1" \
	"$(jq -r '"\(.json.caller_id)|\(.json.assignment_group)|\(.json.category)|\(.json.cmdb_ci)"' <<<"$req")"
check "the incident exists" wait_for 5 sh -c "curl -sf '$SN/_state' | jq -e '.incidents | length == 1' >/dev/null"
SYS=$(state | jq -r '.incidents | keys[0]')
eq "its number" INC0010001 "$(state | jq -r ".incidents[\"$SYS\"].number")"

# --- an update adds a work note to the same incident
send "$(ev sw1 ifdown firing "still down, flapping" basic critical fp-sw1)"
check "the update PATCHes the incident" rx_wait 1 "$PATCHES"
req=$(rx_last "$PATCHES")
eq "PATCH the incident by sys_id" "/api/now/table/incident/$SYS" "$(jq -r .path <<<"$req")"
eq "the update is a work note only" '["work_notes"]' "$(jq -c '.json | keys' <<<"$req")"
contains "the work note says what happened" "still down, flapping" "$(jq -r .json.work_notes <<<"$req")"
eq "no new incident" 1 "$(rx_count "$POSTS")"
eq "the remembered sys_id is checked before use" "/api/now/table/incident/$SYS" \
	"$(jq -c "select($FROMRX and .method == \"GET\")" "$RX_LOG" | tail -1 | jq -r .path)"

# --- the resolution resolves it
send "$(ev sw1 ifdown resolved "Gi0/1 up" basic critical fp-sw1)"
check "the resolution PATCHes the incident" rx_wait 2 "$PATCHES"
req=$(rx_last "$PATCHES")
eq "state 6 with the default close code" "6|Solved (Permanently)" \
	"$(jq -r '"\(.json.state)|\(.json.close_code)"' <<<"$req")"
contains "close notes say it recovered" "Resolved by reflex" "$(jq -r .json.close_notes <<<"$req")"
eq "no violation (a close code ServiceNow knows)" "[]" "$(jq -c .violations <<<"$req")"
check "the incident is resolved" wait_for 5 sh -c "curl -sf '$SN/_state' | jq -e '.incidents[\"$SYS\"].state == \"6\"' >/dev/null"
eq "with two work notes in its journal" 2 "$(state | jq ".incidents[\"$SYS\"].journal | length")"

# --- the next firing opens a new incident
send "$(ev sw1 ifdown firing "down again" basic critical fp-sw1)"
check "a new firing after the resolution creates a new incident" rx_wait 2 "$POSTS"
check "two incidents now" wait_for 5 sh -c "curl -sf '$SN/_state' | jq -e '.incidents | length == 2' >/dev/null"
SYS2=$(state | jq -r ".incidents | to_entries[] | select(.value.number == \"INC0010002\") | .key")
eq "the new one is open" 1 "$(state | jq -r ".incidents[\"$SYS2\"].state")"
send "$(ev sw1 ifdown resolved "up" basic critical fp-sw1)"
check "and is resolved in turn" wait_for 5 sh -c "curl -sf '$SN/_state' | jq -e '.incidents[\"$SYS2\"].state == \"6\"' >/dev/null"

# --- a resolution without an open incident is fine and changes nothing
n=$(rx_count "$FROMRX")
send "$(ev nohost nocheck resolved "fine" basic warning fp-never-fired)"
check "it is looked up" rx_wait $((n + 1)) "$FROMRX"
sleep 0.5
eq "nothing is written for it" 0 "$(rx_count "$FROMRX and .method != \"GET\" and (.json.correlation_id // \"\") == \"$(corr fp-never-fired)\"")"

# --- an incident another agent opened is found by correlation_id
OKEY=$(corr fp-other)
curl -sf -XPOST -H "Authorization: Basic $B64" -H 'Accept: application/json' \
	-H 'Content-Type: application/json' \
	--data "{\"short_description\":\"opened elsewhere\",\"correlation_id\":\"$OKEY\"}" \
	"$SN/api/now/table/incident" >"$TMP/other.json"
OSYS=$(jq -r .result.sys_id "$TMP/other.json")
np=$(rx_count "$POSTS")
send "$(ev rtr9 bgp firing "peer lost" basic error fp-other)"
check "the update goes to the other agent's incident" rx_wait 1 "$PATCHES and .path == \"/api/now/table/incident/$OSYS\""
eq "no incident of its own" "$np" "$(rx_count "$POSTS")"

# --- the severity maps onto urgency/impact; the token instance uses Bearer
send "$(ev web3 http firing "slow" token warning fp-web3)"
check "the token instance creates an incident" rx_wait 1 "$POSTS and .json.correlation_id == \"$(corr fp-web3)\""
req=$(rx_last "$POSTS and .json.correlation_id == \"$(corr fp-web3)\"")
eq "Bearer token" "Bearer $TOKEN" "$(jq -r .headers.authorization <<<"$req")"
eq "warning: urgency and impact 2" "2 2" "$(jq -r '"\(.json.urgency) \(.json.impact)"' <<<"$req")"
eq "no cmdb_ci when not configured" null "$(jq -r .json.cmdb_ci <<<"$req")"

# --- 429 with Retry-After: the retry waits for it
rx_script '[{"status": 429, "headers": {"Retry-After": "2"}, "ctype": "application/json", "body": "{\"error\":{\"message\":\"Rate limit exceeded\",\"detail\":null},\"status\":\"failure\"}"}]'
send "$(ev ra1 cpu firing "hot" basic critical fp-ra1)"
check "after the 429 the incident is created" rx_wait 1 "$POSTS and .json.correlation_id == \"$(corr fp-ra1)\""
t429=$(jq -r "select(.action.status == 429) | .time" "$RX_LOG" | tail -1)
tnext=$(jq -r "select($FROMRX and .time > $t429) | .time" "$RX_LOG" | head -1)
check "the retry came after Retry-After (2 s)" /usr/bin/python3 -c "import sys; sys.exit(0 if $tnext - $t429 >= 1.9 else 1)"
check "the 429 is logged as retried" grep -q "HTTP 429: Rate limit exceeded.*will retry" "$TMP/reflexd.log"

# --- transient failures: retried, then one incident
for case in \
	'HTTP 503|[{"status": 503, "body": "<html>Service Unavailable</html>", "ctype": "text/html"}]' \
	'HTTP 500 on the create|[{}, {"status": 500, "ctype": "application/json", "body": "{\"error\":{\"message\":\"Internal error\",\"detail\":\"\"},\"status\":\"failure\"}"}]' \
	'a hibernating instance (HTML in a 200)|[{"status": 200, "ctype": "text/html", "body": "<html><body>Your instance is hibernating</body></html>"}]' \
	'a reset connection|[{"reset": true}]' \
	'an answer slower than timeout|[{"delay": 2.5}]'; do
	what=${case%%|*}
	fp="fp-$RANDOM$RANDOM"
	rx_script "${case#*|}"
	send "$(ev "t-$fp" transient firing "x" basic critical "$fp")"
	check "$what: retried, then the incident is created" rx_wait 1 "$POSTS and .json.correlation_id == \"$(corr "$fp")\" and .action == null"
	sleep 0.3
	eq "$what: exactly one incident" 1 "$(state | jq "[.incidents[] | select(.correlation_id == \"$(corr "$fp")\")] | length")"
done
check "the hibernating instance is explained in the log" grep -q "without a JSON answer" "$TMP/reflexd.log"

# --- 400 and 401: dead letters with ServiceNow's message
rx_script '[{}, {"status": 400, "ctype": "application/json", "body": "{\"error\":{\"message\":\"Invalid field value\",\"detail\":\"Value of assignment_group is not valid\"},\"status\":\"failure\"}"}]'
send "$(ev bad1 disk firing "x" basic critical fp-bad1)"
check "a 400 ends as a dead letter" wait_for 10 sh -c "curl -s '$URL/api/v1/deliveries?state=dead' | jq -e '[.deliveries[] | select(.last_error | contains(\"Invalid field value (Value of assignment_group is not valid)\"))] | length == 1' >/dev/null"
eq "the 400 is not retried" 1 "$(rx_count "$POSTS and .action.status == 400")"
rx_script '[{"status": 401, "ctype": "application/json", "body": "{\"error\":{\"message\":\"User Not Authenticated\",\"detail\":\"Required to provide Auth information\"},\"status\":\"failure\"}"}]'
send "$(ev bad2 disk firing "x" basic critical fp-bad2)"
check "a 401 ends as a dead letter" wait_for 10 sh -c "curl -s '$URL/api/v1/deliveries?state=dead' | jq -e '[.deliveries[] | select(.last_error | contains(\"HTTP 401: User Not Authenticated\"))] | length == 1' >/dev/null"
d=$(dead)
contains "the dead letter names the request" "create incident: HTTP 400" "$d"

# --- counted, no violation, no secret in the log
m=$(get /metrics)
kindp=$([ "$SECTION" = itsm ] && echo itsm || echo output)
contains "created incidents counted" "reflex_${kindp}_servicenow_created_total{instance=\"snow\"}" "$m"
contains "resolved incidents counted" "reflex_${kindp}_servicenow_resolved_total{instance=\"snow\"} 2" "$m"
eq "no request from reflex violated ServiceNow's documented rules" 0 "$(rx_count "$FROMRX and (.violations | length) > 0")"
check "the password never reaches the log" bash -c "! grep -q -- '$PASS' '$TMP/reflexd.log'"
check "the basic credentials never reach the log" bash -c "! grep -q -- '$B64' '$TMP/reflexd.log'"
check "the token never reaches the log" bash -c "! grep -q -- '$TOKEN' '$TMP/reflexd.log'"
check "SIGTERM exits 0" stop_reflexd
finish
