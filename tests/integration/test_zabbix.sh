#!/bin/bash
# The Zabbix media type end to end: the JavaScript of etc/zabbix/media_reflex.yaml
# runs under tests/zabbix/run_media.js (node standing in for the Zabbix
# server) and posts to a real reflexd with a `format: zabbix` webhook input.
# A problem, its acknowledgement and its recovery must land as one alert
# (one fingerprint); a wrong token must make the script throw; malformed
# bodies posted with curl must be refused with 422 naming the field.
. "$(dirname "$0")/lib.sh"

if ! command -v node >/dev/null 2>&1; then
	bad "node is missing: the Zabbix media type test needs it; install nodejs (apt-get install -y nodejs)"
	finish
	exit 1
fi

MEDIA="$SRCDIR/etc/zabbix/media_reflex.yaml"
HARNESS="$SRCDIR/tests/zabbix/run_media.js"
ADMIN=admin-token-zabbix-0123456789
ZTOKEN=zabbix-sender-token-0123456789
export REFLEX_TEST_ZTOKEN=$ZTOKEN
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-zabbix
  data_dir: $TMP/var
  log: { level: info }
  api:
    listen: 127.0.0.1:$PORT
    tokens:
      - { token: $ADMIN, role: admin }
store: { plugin: sqlite, path: reflex.db }
# the media type and decoder are under test, with the same problem sent again and again: no dedup
pipeline: { noise: { enabled: false } }
inputs:
  - name: zabbix
    plugin: webhook
    path: /api/v1/events/zabbix
    format: zabbix
    auth: { type: bearer, token: "\${REFLEX_TEST_ZTOKEN}" }
  - name: zabbix_mapped
    plugin: webhook
    path: /api/v1/events/zabbix-mapped
    format: zabbix
    severity_map: { high: emergency, "2": notice, Urgent: debug }
    auth: { type: bearer, token: "\${REFLEX_TEST_ZTOKEN}" }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1
A=(-H "Authorization: Bearer $ADMIN")
Z=(-H "Authorization: Bearer $ZTOKEN")
ZURL="$URL/api/v1/events/zabbix"

# run_media MACROS_FILE [--param N=V]...: runs the media type like Zabbix;
# stdout to $TMP/out, stderr to $TMP/err; returns the harness exit code
run_media() {
	local macros=$1
	shift
	node "$HARNESS" --media "$MEDIA" --macros "$macros" --param "url=$ZURL" \
		--param "token=$ZTOKEN" "$@" >"$TMP/out" 2>"$TMP/err"
}
# event ID: the stored event as the API returns it
event() { get "/api/v1/events/$1" "${A[@]}" | cut -d' ' -f2-; }
# the reflex id the script reported ("OK <id>")
sent_id() { sed -n 's/^OK \([0-9A-Z]\{26\}\)$/\1/p' "$TMP/out"; }

# What Zabbix substitutes for a problem notification. Macros of other
# notification kinds (recovery, update) are left out: Zabbix leaves them
# unresolved, which the script must treat as empty.
cat >"$TMP/problem.json" <<'JSON'
{
  "{EVENT.SOURCE}": "0",
  "{EVENT.ID}": "4711",
  "{EVENT.NAME}": "High CPU utilization on db1",
  "{EVENT.VALUE}": "1",
  "{EVENT.STATUS}": "PROBLEM",
  "{EVENT.NSEVERITY}": "4",
  "{EVENT.SEVERITY}": "High",
  "{EVENT.UPDATE.STATUS}": "0",
  "{EVENT.ACK.STATUS}": "No",
  "{EVENT.DATE}": "2026.11.28",
  "{EVENT.TIME}": "03:22:45",
  "{EVENT.OPDATA}": "CPU 97 %",
  "{EVENT.TAGSJSON}": "[{\"tag\":\"service\",\"value\":\"postgres\"},{\"tag\":\"scope\",\"value\":\"performance\"},{\"tag\":\"scope\",\"value\":\"capacity\"}]",
  "{HOST.NAME}": "db1",
  "{HOST.HOST}": "db1.example.com",
  "{HOST.IP}": "192.0.2.15",
  "{TRIGGER.HOSTGROUP.NAME}": "Databases, Linux servers",
  "{TRIGGER.ID}": "13508",
  "{TRIGGER.DESCRIPTION}": "CPU is busy for 5 minutes.",
  "{ALERT.SUBJECT}": "Problem: High CPU utilization on db1",
  "{ALERT.MESSAGE}": "Problem started at 03:22:45 on 2026.11.28"
}
JSON
# ... for its acknowledgement (an update operation)
jq '. + {"{EVENT.UPDATE.STATUS}": "1", "{EVENT.UPDATE.ACTION}": "acknowledged and commented",
	"{EVENT.UPDATE.MESSAGE}": "looking into it", "{USER.FULLNAME}": "Ada Admin",
	"{EVENT.UPDATE.DATE}": "2026.11.28", "{EVENT.UPDATE.TIME}": "03:30:00",
	"{EVENT.ACK.STATUS}": "Yes", "{$ZABBIX.URL}": "https://zabbix.example.com"}' \
	"$TMP/problem.json" >"$TMP/update.json"
# ... and for its recovery
jq '. + {"{EVENT.VALUE}": "0", "{EVENT.STATUS}": "RESOLVED", "{EVENT.RECOVERY.ID}": "4790",
	"{EVENT.RECOVERY.DATE}": "2026.11.28", "{EVENT.RECOVERY.TIME}": "04:00:10",
	"{EVENT.ACK.STATUS}": "Yes"}' "$TMP/problem.json" >"$TMP/recovery.json"

# --- problem
export TZ=UTC
run_media "$TMP/problem.json"
eq "problem: the script succeeds" 0 $?
P=$(sent_id)
eq "problem: the script reports the reflex id" 26 "${#P}"
B=$(event "$P")
eq "problem: status firing" firing "$(echo "$B" | jq -r .status)"
eq "problem: Zabbix high is reflex critical" critical "$(echo "$B" | jq -r .severity)"
eq "problem: host" db1 "$(echo "$B" | jq -r .host)"
eq "problem: check is the event name" "High CPU utilization on db1" "$(echo "$B" | jq -r .check)"
eq "problem: message has the operational data" "High CPU utilization on db1 (CPU 97 %)" \
	"$(echo "$B" | jq -r .message)"
eq "problem: fingerprint is the problem's event id" zabbix:4711 "$(echo "$B" | jq -r .fingerprint)"
eq "problem: kind alert" alert "$(echo "$B" | jq -r .kind)"
eq "problem: time from {EVENT.DATE} {EVENT.TIME}" 2026-11-28T03:22:45.000Z "$(echo "$B" | jq -r .time)"
eq "problem: service from the service tag" postgres "$(echo "$B" | jq -r .service)"
eq "problem: tags become labels" postgres "$(echo "$B" | jq -r .labels.service)"
eq "problem: a repeated tag joins its values" performance,capacity "$(echo "$B" | jq -r .labels.scope)"
eq "problem: host groups label" "Databases,Linux servers" "$(echo "$B" | jq -r .labels.host_groups)"
eq "problem: attrs.host_groups" '["Databases","Linux servers"]' "$(echo "$B" | jq -c .attrs.host_groups)"
eq "problem: attrs.tags as sent" 3 "$(echo "$B" | jq '.attrs.tags | length')"
eq "problem: attrs.trigger_id" 13508 "$(echo "$B" | jq -r .attrs.trigger_id)"
eq "problem: attrs.event_id" 4711 "$(echo "$B" | jq -r .attrs.event_id)"
eq "problem: attrs.opdata" "CPU 97 %" "$(echo "$B" | jq -r .attrs.opdata)"
eq "problem: attrs.host_ip" 192.0.2.15 "$(echo "$B" | jq -r .attrs.host_ip)"
eq "problem: attrs.host_host" db1.example.com "$(echo "$B" | jq -r .attrs.host_host)"
eq "problem: attrs.zabbix_severity" 4 "$(echo "$B" | jq -r .attrs.zabbix_severity)"
eq "problem: attrs.zabbix_severity_name" High "$(echo "$B" | jq -r .attrs.zabbix_severity_name)"
eq "problem: attrs.acknowledged false" false "$(echo "$B" | jq -r .attrs.acknowledged)"
eq "problem: attrs.update false" false "$(echo "$B" | jq -r .attrs.update)"
eq "problem: attrs.trigger_description" "CPU is busy for 5 minutes." \
	"$(echo "$B" | jq -r .attrs.trigger_description)"
eq "problem: unresolved macros are not sent (no recovery_id)" null "$(echo "$B" | jq -r .attrs.recovery_id)"
eq "problem: a link with an unresolved macro is not sent" null "$(echo "$B" | jq -r .attrs.event_url)"
contains "problem: the script logs through Zabbix.log" "[zabbix log 4] [reflex webhook] event 4711 stored" \
	"$(cat "$TMP/err")"

# --- update (acknowledge)
run_media "$TMP/update.json"
eq "update: the script succeeds" 0 $?
U=$(sent_id)
B=$(event "$U")
eq "update: keeps the problem's fingerprint" zabbix:4711 "$(echo "$B" | jq -r .fingerprint)"
eq "update: still firing" firing "$(echo "$B" | jq -r .status)"
eq "update: attrs.acknowledged" true "$(echo "$B" | jq -r .attrs.acknowledged)"
eq "update: attrs.update" true "$(echo "$B" | jq -r .attrs.update)"
eq "update: attrs.update_action" "acknowledged and commented" "$(echo "$B" | jq -r .attrs.update_action)"
eq "update: attrs.update_user" "Ada Admin" "$(echo "$B" | jq -r .attrs.update_user)"
eq "update: message says who did what" "Ada Admin acknowledged and commented: looking into it" \
	"$(echo "$B" | jq -r .message)"
eq "update: time is the update's" 2026-11-28T03:30:00.000Z "$(echo "$B" | jq -r .time)"
eq "update: attrs.problem_started" 2026-11-28T03:22:45Z "$(echo "$B" | jq -r .attrs.problem_started)"
eq "update: the event link once {\$ZABBIX.URL} is set" \
	"https://zabbix.example.com/tr_events.php?triggerid=13508&eventid=4711" "$(echo "$B" | jq -r .attrs.event_url)"

# --- recovery
run_media "$TMP/recovery.json"
eq "recovery: the script succeeds" 0 $?
R=$(sent_id)
B=$(event "$R")
eq "recovery: status resolved" resolved "$(echo "$B" | jq -r .status)"
eq "recovery: same fingerprint as its problem" zabbix:4711 "$(echo "$B" | jq -r .fingerprint)"
eq "recovery: attrs.recovery_id" 4790 "$(echo "$B" | jq -r .attrs.recovery_id)"
eq "recovery: time is the recovery's" 2026-11-28T04:00:10.000Z "$(echo "$B" | jq -r .time)"
eq "recovery: message" "Resolved: High CPU utilization on db1 (CPU 97 %)" "$(echo "$B" | jq -r .message)"
eq "recovery: severity stays the problem's" critical "$(echo "$B" | jq -r .severity)"
r=$(get "/api/v1/events?fingerprint=zabbix:4711" "${A[@]}")
eq "the problem's life is one fingerprint: 3 events" "resolved firing firing" \
	"$(echo "${r#* }" | jq -r '[.events[].status] | join(" ")')"

# --- time zones: auto takes the Zabbix server's offset at the event's date
TZ=Europe/Berlin run_media "$TMP/problem.json"
B=$(event "$(sent_id)")
eq "timezone auto in winter (CET, +01:00)" 2026-11-28T02:22:45.000Z "$(echo "$B" | jq -r .time)"
jq '. + {"{EVENT.DATE}": "2026.07.01"}' "$TMP/problem.json" >"$TMP/summer.json"
TZ=Europe/Berlin run_media "$TMP/summer.json"
B=$(event "$(sent_id)")
eq "timezone auto in summer (CEST, +02:00)" 2026-07-01T01:22:45.000Z "$(echo "$B" | jq -r .time)"
run_media "$TMP/problem.json" --param timezone=-05:00
B=$(event "$(sent_id)")
eq "an explicit timezone parameter" 2026-11-28T08:22:45.000Z "$(echo "$B" | jq -r .time)"
run_media "$TMP/problem.json" --param timezone=
B=$(event "$(sent_id)")
eq "no timezone means UTC" 2026-11-28T03:22:45.000Z "$(echo "$B" | jq -r .time)"

# --- severities
for s in "0 info" "1 info" "2 warning" "3 error" "5 alert"; do
	jq --arg n "${s% *}" '. + {"{EVENT.NSEVERITY}": $n}' "$TMP/problem.json" >"$TMP/sev.json"
	run_media "$TMP/sev.json"
	eq "Zabbix severity ${s% *} is reflex ${s#* }" "${s#* }" "$(event "$(sent_id)" | jq -r .severity)"
done
MAPPED="$URL/api/v1/events/zabbix-mapped"
run_media "$TMP/problem.json" --param "url=$MAPPED"
eq "severity_map by Zabbix name (high: emergency)" emergency "$(event "$(sent_id)" | jq -r .severity)"
jq '. + {"{EVENT.NSEVERITY}": "2", "{EVENT.SEVERITY}": "Warning"}' "$TMP/problem.json" >"$TMP/sev.json"
run_media "$TMP/sev.json" --param "url=$MAPPED"
eq "severity_map by number (\"2\": notice)" notice "$(event "$(sent_id)" | jq -r .severity)"
jq '. + {"{EVENT.NSEVERITY}": "3", "{EVENT.SEVERITY}": "Urgent"}' "$TMP/problem.json" >"$TMP/sev.json"
run_media "$TMP/sev.json" --param "url=$MAPPED"
eq "severity_map by a renamed severity (Urgent: debug)" debug "$(event "$(sent_id)" | jq -r .severity)"

# --- the script's failures are what Zabbix shows the operator
run_media "$TMP/problem.json" --param token=wrong-token-0123456789
eq "a wrong token makes the script throw" 1 $?
contains "the error names the 401" "401" "$(cat "$TMP/err")"
contains "the error carries reflex's answer" "unauthorized" "$(cat "$TMP/err")"
run_media "$TMP/problem.json" --param "url=$URL/no-such-input"
eq "a wrong path makes the script throw" 1 $?
contains "the error names the HTTP status" "reflex answered HTTP 4" "$(cat "$TMP/err")"
run_media "$TMP/problem.json" --param "url=http://127.0.0.1:1/nothing-listens"
eq "an unreachable reflex makes the script throw" 1 $?
contains "the error says the request failed" "Cannot perform request" "$(cat "$TMP/err")"
run_media "$TMP/problem.json" --param "url=<PLACE REFLEX WEBHOOK URL>"
eq "the placeholder URL makes the script throw" 1 $?
contains "the error names the url parameter" 'parameter "url"' "$(cat "$TMP/err")"
jq 'del(.["{EVENT.ID}"])' "$TMP/problem.json" >"$TMP/noid.json"
run_media "$TMP/noid.json"
eq "an unresolved {EVENT.ID} makes the script throw" 1 $?
contains "the error names event_id" 'event_id' "$(cat "$TMP/err")"
jq '. + {"{EVENT.SOURCE}": "3"}' "$TMP/problem.json" >"$TMP/internal.json"
run_media "$TMP/internal.json"
eq "an internal event is skipped, not an error" 0 $?
contains "the result says skipped" skipped "$(cat "$TMP/out")"
jq '. + {"{EVENT.TAGSJSON}": "not json"}' "$TMP/problem.json" >"$TMP/badtags.json"
run_media "$TMP/badtags.json"
eq "tags that are not JSON are dropped, the alert still sent" 0 $?
eq "... with no tag labels" null "$(event "$(sent_id)" | jq -r .labels.scope)"

# --- malformed bodies straight to the input: 422 naming the field
before=$(get "/api/v1/events?limit=1000" "${A[@]}" | cut -d' ' -f2- | jq '.events | length')
GOOD='{"event_id":"9001","event_value":1,"event_name":"Disk full","event_severity":3,"host_name":"web1"}'
r=$(post /api/v1/events/zabbix "$GOOD" "${Z[@]}")
eq "a minimal body posted with curl is accepted" 202 "${r%% *}"
bad_body() { # DESCRIPTION JQ_FILTER NEEDLE
	local body r
	body=$(echo "$GOOD" | jq -c "$2")
	r=$(post /api/v1/events/zabbix "$body" "${Z[@]}")
	eq "$1 is 422" 422 "${r%% *}"
	contains "$1 names the field" "$3" "$r"
}
bad_body "event_value 'maybe'" '.event_value = "maybe"' '"message":"event_value: expected 0 (recovery) or 1 (problem)'
bad_body "no event_id" 'del(.event_id)' '"message":"event_id: missing'
bad_body "event_id not digits" '.event_id = "12a"' '"message":"event_id: expected'
bad_body "no event_name" 'del(.event_name)' '"message":"event_name: missing'
bad_body "event_severity 9" '.event_severity = 9' '"message":"event_severity: expected a Zabbix severity 0-5, got 9'
bad_body "event_severity \"9\" as a string (found by fuzz_webhook)" '.event_severity = "9"' \
	"\"message\":\"event_severity: expected a Zabbix severity 0-5, got '9'"
bad_body "event_date in another format" '.event_date = "28.11.2026" | .event_time = "03:22:45"' \
	'"message":"event_date: expected a Zabbix date YYYY.MM.DD'
bad_body "event_date without event_time" '.event_date = "2026.11.28"' '"message":"event_time: missing'
bad_body "a 31st of November" '.event_date = "2026.11.31" | .event_time = "03:22:45"' '"message":"event_date:'
bad_body "a date past 2261 (nanoseconds overflow; found by fuzz_webhook)" '.event_date = "2688.11.28" | .event_time = "03:22:45"' '"message":"event_date: '\''2688.11.28'\'' is past the year 2261'
bad_body "event_time 25:00:00" '.event_date = "2026.11.28" | .event_time = "25:00:00"' '"message":"event_time:'
bad_body "event_tags as a string" '.event_tags = "[]"' '"message":"event_tags: expected an array'
bad_body "a tag without a name" '.event_tags = [{"tag":"a","value":"b"},{"value":"c"}]' '"message":"event_tags[1].tag:'
bad_body "host_groups with a number" '.host_groups = ["a", 5]' '"message":"host_groups[1]:'
bad_body "timezone Mars" '.timezone = "Mars"' '"message":"timezone: expected'
bad_body "host_name a number" '.host_name = 5' '"message":"host_name: expected a string'
bad_body "event_ack_status maybe" '.event_ack_status = "maybe"' '"message":"event_ack_status:'
r=$(post /api/v1/events/zabbix '[{"event_id":"1"}]' "${Z[@]}")
eq "an array body is 422" 422 "${r%% *}"
after=$(get "/api/v1/events?limit=1000" "${A[@]}" | cut -d' ' -f2- | jq '.events | length')
eq "refused bodies stored nothing" $((before + 1)) "$after"
r=$(post /api/v1/events/zabbix "$GOOD" -H "Authorization: Bearer $ADMIN")
eq "the input takes its own token, not the API's" 401 "${r%% *}"

check "reflexd stops cleanly" stop_reflexd
finish
