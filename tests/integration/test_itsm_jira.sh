#!/bin/bash
# The jira ITSM plugin inside a running reflexd, against a stateful
# stand-in for Jira Cloud REST v3 (tests/receivers/jira_receiver.py) that
# checks auth and request formats as Atlassian documents them: a firing
# event creates an issue with the reflex-<hash> label and an ADF
# description, updates comment on it, the resolution comments and moves it
# through the "Done" transition, the next firing creates a new issue; an
# issue another agent made is found by JQL; a retried transition does not
# comment twice; a workflow without the configured transition is a dead
# letter naming the available ones; Jira Service Management requests;
# 429/5xx/resets retried, 400 dead with Jira's message; no secret logged.
#
# Until the core wires `itsm:` instances, the plugin can be built as an
# output (-DRFX_TEST_AS_OUTPUT); the script uses whichever section the
# installed plugin's kind needs.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/receivers/receiver.sh"
trap 'stop_receiver; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/itsm/jira/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"
SECTION=${REFLEX_ITSM_SECTION:-}
if [ -z "$SECTION" ]; then
	if "$REFLEXD" --describe itsm/jira >/dev/null 2>&1; then SECTION=itsm; else SECTION=outputs; fi
fi

EMAIL=ops-bot@example.com
TOKEN=ATATT3xFfGF0-ApItOkEn-SeCrEt
B64=$(printf '%s:%s' "$EMAIL" "$TOKEN" | base64 -w0)
start_receiver jira "$SRCDIR/tests/receivers/jira_receiver.py" --email "$EMAIL" --token "$TOKEN" || exit 1
JR="http://127.0.0.1:$RX_PORT"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
pipeline:
  noise: { enabled: false } # every update of a fingerprint reaches the plugin
inputs:
  - { name: hook, plugin: webhook }
$SECTION:
  - name: jira
    plugin: jira
    url: $JR
    email: $EMAIL
    api_token: $TOKEN
    project: OPS
    labels: [reflex, monitoring]
    priority_map: { critical: Highest, warning: Medium }
    timeout: 1s
    match: 'labels.route == "ops"'
    delivery: { initial_backoff: 200ms, max_backoff: 400ms, max_attempts: 4 }
  - name: badflow
    plugin: jira
    url: $JR
    email: $EMAIL
    api_token: $TOKEN
    project: OPS
    resolve_transition: Close
    match: 'labels.route == "badflow"'
    delivery: { initial_backoff: 200ms, max_backoff: 400ms, max_attempts: 4 }
  - name: jsm
    plugin: jira
    url: $JR/
    email: $EMAIL
    api_token: $TOKEN
    service_desk_id: "1"
    request_type_id: "10"
    resolve_transition: resolve THIS issue
    match: 'labels.route == "jsm"'
    delivery: { initial_backoff: 200ms, max_backoff: 400ms, max_attempts: 4 }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

send() { post /api/v1/events/webhook "$1" >/dev/null; }
ev() { # HOST CHECK STATUS MESSAGE ROUTE SEVERITY FINGERPRINT
	jq -cn --arg h "$1" --arg c "$2" --arg s "$3" --arg m "$4" --arg r "$5" --arg v "$6" --arg f "$7" \
		'{host:$h, check:$c, status:$s, severity:$v, message:$m, labels:{route:$r}, fingerprint:$f}'
}
state() { curl -sf "$JR/_state"; }
issue() { state | jq -c ".issues[\"$1\"]"; }
corr() {
	/usr/bin/python3 -c '
import sys
h = 14695981039346656037
for b in sys.argv[1].encode():
    h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
h = ((h ^ 0x1f) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
print("reflex-%016x" % h)' "$1"
}
FROMRX='(.headers["user-agent"] // "" | startswith("reflex"))'
CREATE="$FROMRX and .method == \"POST\" and .path == \"/rest/api/3/issue\""
COMMENT="$FROMRX and .method == \"POST\" and (.path | endswith(\"/comment\"))"
TRANS="$FROMRX and .method == \"POST\" and (.path | endswith(\"/transitions\"))"
wait_for() { local t=$1 i; shift; for i in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done; return 1; }
status_is() { [ "$(issue "$1" | jq -r .status)" = "$2" ]; }

# --- a firing event creates an issue
KEY=$(corr fp-a)
send "$(ev db1 replication firing "lag 300s
replica db2 stopped" ops critical fp-a)"
check "the firing event creates an issue" rx_wait 1 "$CREATE"
s=$(jq -c "select($FROMRX and .method == \"GET\")" "$RX_LOG" | head -1)
eq "first it searches by label with JQL (the new search endpoint)" \
	"/rest/api/3/search/jql labels = \"$KEY\" AND statusCategory != Done ORDER BY created DESC" \
	"$(jq -r '"\(.path) \(.query.jql[0])"' <<<"$s")"
req=$(rx_last "$CREATE")
eq "basic auth with email and API token" "Basic $B64" "$(jq -r .headers.authorization <<<"$req")"
eq "no documented rule violated" "[]" "$(jq -c .violations <<<"$req")"
eq "project and issue type" "OPS Task" "$(jq -r '"\(.json.fields.project.key) \(.json.fields.issuetype.name)"' <<<"$req")"
eq "summary" "[critical] replication on db1" "$(jq -r .json.fields.summary <<<"$req")"
eq "labels: the dedup label first, then the configured ones" "[\"$KEY\",\"reflex\",\"monitoring\"]" "$(jq -c .json.fields.labels <<<"$req")"
eq "priority from priority_map" Highest "$(jq -r .json.fields.priority.name <<<"$req")"
eq "the description is an ADF doc" "doc 1" "$(jq -r '"\(.json.fields.description.type) \(.json.fields.description.version)"' <<<"$req")"
eq "one paragraph per line: the message's two lines are two paragraphs" \
	'["lag 300s","replica db2 stopped"]' \
	"$(jq -c '[.json.fields.description.content[] | .content[0].text | select(. == "lag 300s" or . == "replica db2 stopped")]' <<<"$req")"
check "the issue exists" wait_for 5 sh -c "curl -sf '$JR/_state' | jq -e '.issues[\"OPS-1\"]' >/dev/null"

# --- an update comments on it
send "$(ev db1 replication firing "lag 900s" ops critical fp-a)"
check "the update adds a comment" rx_wait 1 "$COMMENT"
req=$(rx_last "$COMMENT")
eq "on OPS-1" /rest/api/3/issue/OPS-1/comment "$(jq -r .path <<<"$req")"
eq "the comment body is ADF" doc "$(jq -r .json.body.type <<<"$req")"
contains "and says what happened" "lag 900s" "$(jq -r '[.json.body.content[].content[0].text] | join(" ")' <<<"$req")"
eq "the remembered issue is checked before use" "/rest/api/3/issue/OPS-1 status" \
	"$(jq -c "select($FROMRX and .method == \"GET\")" "$RX_LOG" | tail -1 | jq -r '"\(.path) \(.query.fields[0])"')"
eq "no second issue" 1 "$(rx_count "$CREATE")"

# --- the resolution comments and transitions to Done
send "$(ev db1 replication resolved "caught up" ops critical fp-a)"
check "the resolution transitions the issue" rx_wait 1 "$TRANS"
eq "through Done (id 31)" 31 "$(rx_last "$TRANS" | jq -r .json.transition.id)"
check "OPS-1 is Done" wait_for 5 status_is OPS-1 Done
eq "two comments: the update and the resolution" 2 "$(issue OPS-1 | jq '.comments | length')"
contains "the resolution comment says it recovered" "Recovered at" "$(issue OPS-1 | jq -r '.comments[1]')"

# --- the next firing creates a new issue
send "$(ev db1 replication firing "lag again" ops critical fp-a)"
check "a firing after the resolution creates a new issue" rx_wait 2 "$CREATE"
check "OPS-2 exists and is open" wait_for 5 status_is OPS-2 "To Do"

# --- an issue another agent made is found by its label
OKEY=$(corr fp-other)
curl -sf -XPOST -u "$EMAIL:$TOKEN" -H 'Accept: application/json' -H 'Content-Type: application/json' \
	--data "{\"fields\":{\"project\":{\"key\":\"OPS\"},\"issuetype\":{\"name\":\"Bug\"},\"summary\":\"made elsewhere\",\"labels\":[\"$OKEY\"]}}" \
	"$JR/rest/api/3/issue" >"$TMP/other.json"
OK_=$(jq -r .key "$TMP/other.json")
nc=$(rx_count "$CREATE")
send "$(ev lb1 pool firing "member down" ops warning fp-other)"
check "the update comments on the other agent's issue" rx_wait 1 "$COMMENT and .path == \"/rest/api/3/issue/$OK_/comment\""
eq "and creates none" "$nc" "$(rx_count "$CREATE")"

# --- a 429 on the transition: retried after Retry-After, commented once
rx_script '[{}, {}, {}, {"status": 429, "headers": {"Retry-After": "1"}, "ctype": "application/json", "body": "{\"errorMessages\":[\"Rate limit exceeded.\"],\"errors\":{}}"}]'
send "$(ev db1 replication resolved "caught up" ops critical fp-a)"
check "OPS-2 is Done after the 429" wait_for 10 status_is OPS-2 Done
eq "the 429 came on the transition" "/rest/api/3/issue/OPS-2/transitions" "$(jq -r "select(.action.status == 429) | .path" "$RX_LOG")"
eq "the retried resolution commented once" 1 "$(issue OPS-2 | jq '.comments | length')"
check "the 429 is logged as retried" grep -q "transition: HTTP 429: Rate limit exceeded. (will retry)" "$TMP/reflexd.log"

# --- a workflow without the transition: a dead letter naming the available ones
send "$(ev app1 errors firing "5xx" badflow error fp-bad)"
check "badflow creates its issue" rx_wait 1 "$CREATE and (.json.fields.labels[0] == \"$(corr fp-bad)\")"
BK=$(state | jq -r ".issues[] | select(.labels[0] == \"$(corr fp-bad)\") | .key")
send "$(ev app1 errors resolved "ok" badflow error fp-bad)"
check "a missing transition is a dead letter naming the available ones" wait_for 10 sh -c \
	"curl -s '$URL/api/v1/deliveries?state=dead' | jq -e '[.deliveries[] | select(.last_error == \"$BK has no transition '\\''Close'\\''; available: '\\''In Progress'\\'', '\\''Done'\\'' (set resolve_transition)\")] | length == 1' >/dev/null"
check "and it stays open" status_is "$BK" "To Do"

# --- transient failures, then one issue
for case in \
	'HTTP 503|[{"status": 503, "ctype": "text/html", "body": "<html>Service Unavailable</html>"}]' \
	'HTTP 500 on the create|[{}, {"status": 500, "ctype": "application/json", "body": "{\"errorMessages\":[\"Internal server error\"],\"errors\":{}}"}]' \
	'a reset connection|[{"reset": true}]' \
	'an answer slower than timeout|[{"delay": 2.5}]'; do
	what=${case%%|*}
	fp="fp-$RANDOM$RANDOM"
	rx_script "${case#*|}"
	send "$(ev "t-$fp" transient firing "x" ops critical "$fp")"
	check "$what: retried, then the issue is created" rx_wait 1 "$CREATE and .json.fields.labels[0] == \"$(corr "$fp")\" and .action == null"
	sleep 0.3
	eq "$what: exactly one issue" 1 "$(state | jq "[.issues[] | select(.labels[0] == \"$(corr "$fp")\")] | length")"
done

# --- 400: a dead letter with Jira's field errors
rx_script '[{}, {"status": 400, "ctype": "application/json", "body": "{\"errorMessages\":[],\"errors\":{\"customfield_10010\":\"Team is required.\"}}"}]'
send "$(ev bad1 disk firing "x" ops critical fp-bad1)"
check "a 400 is a dead letter with Jira's message" wait_for 10 sh -c \
	"curl -s '$URL/api/v1/deliveries?state=dead' | jq -e '[.deliveries[] | select(.last_error == \"create issue: HTTP 400: customfield_10010: Team is required.\")] | length == 1' >/dev/null"

# --- Jira Service Management requests
send "$(ev pos7 till firing "printer jam" jsm warning fp-jsm)"
check "a request is created in the service desk" rx_wait 1 "$FROMRX and .path == \"/rest/servicedeskapi/request\""
req=$(rx_last "$FROMRX and .path == \"/rest/servicedeskapi/request\"")
eq "serviceDeskId and requestTypeId" "1 10" "$(jq -r '"\(.json.serviceDeskId) \(.json.requestTypeId)"' <<<"$req")"
eq "the dedup label is a request field" "$(corr fp-jsm)" "$(jq -r '.json.requestFieldValues.labels[0]' <<<"$req")"
eq "no violation" "[]" "$(jq -c .violations <<<"$req")"
send "$(ev pos7 till resolved "fixed" jsm warning fp-jsm)"
check "the request is resolved through 'Resolve this issue'" wait_for 10 status_is HELP-1 Resolved

# --- counted, no violation, no secret in the log
m=$(get /metrics)
kindp=$([ "$SECTION" = itsm ] && echo itsm || echo output)
contains "created issues counted" "reflex_${kindp}_jira_created_total{instance=\"jira\"}" "$m"
contains "resolved issues counted" "reflex_${kindp}_jira_resolved_total{instance=\"jira\"} 2" "$m"
eq "no request from reflex violated Jira's documented rules" 0 "$(rx_count "$FROMRX and (.violations | length) > 0")"
check "the API token never reaches the log" bash -c "! grep -q -- '$TOKEN' '$TMP/reflexd.log'"
check "the basic credentials never reach the log" bash -c "! grep -q -- '$B64' '$TMP/reflexd.log'"
check "SIGTERM exits 0" stop_reflexd
finish
